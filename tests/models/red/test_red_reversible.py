"""RED's memory-saving backprop: same function and gradients as plain autograd, exact reconstruction,
no frozen U-Net (specs/red.md §6, §7, §11). Tiny widths, float64, CPU."""
import pytest
import torch

import models.red  # noqa: F401  (registers red / red-tiny)
from models.red.model import DDIMStep, build_red
from models.red.reversible import RevBackProp, coupling_forward, coupling_inverse, run_couplings

MODES = ("outer", "inner", "both")


def _model(coupling="paper", seed=0):
    torch.manual_seed(seed)
    m = build_red("tiny", coupling=coupling).double()
    # move the scalars off their special initial values (m = 0, v = 0.5, w = 1, ...) so that every
    # term of the couplings and merges is exercised
    with torch.no_grad():
        for p in m.parameters():
            if p.numel() <= 8:
                p.add_(0.1 * torch.randn_like(p))
    return m


def _inputs(seed=1, size=16, batch=2):
    g = torch.Generator().manual_seed(seed)
    ir = torch.rand(batch, 1, size, size, generator=g, dtype=torch.float64)
    vis = torch.rand(batch, 1, size, size, generator=g, dtype=torch.float64)
    return ir, vis


def _run(m, mode, ir, vis):
    m.set_memory_saving(mode)
    m.zero_grad(set_to_none=True)
    ir = ir.clone().requires_grad_(True)
    vis = vis.clone().requires_grad_(True)
    out = m(ir, vis)
    loss = (out ** 2).mean() + (out * torch.linspace(0, 1, out.shape[-1], dtype=out.dtype)).sum()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters() if p.grad is not None}
    grads["<input ir>"] = ir.grad.detach().clone()
    grads["<input vis>"] = vis.grad.detach().clone()
    return out.detach(), grads


def _rel(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


@pytest.mark.parametrize("coupling", ["paper", "idm"])
def test_reversible_gradients_equal_plain_autograd(coupling):
    m = _model(coupling)
    ir, vis = _inputs()
    ref_out, ref = _run(m, "none", ir, vis)
    names = {n for n, _ in m.named_parameters()}
    assert names <= set(ref), f"plain autograd left parameters without gradient: {names - set(ref)}"
    for mode in MODES:
        out, got = _run(m, mode, ir, vis)
        assert float((out - ref_out).abs().max()) <= 1e-10, mode
        assert set(got) == set(ref), (mode, set(ref) ^ set(got))
        worst = max(ref, key=lambda n: _rel(got[n], ref[n]))
        assert _rel(got[worst], ref[worst]) <= 1e-8, (mode, worst, _rel(got[worst], ref[worst]))


def test_outer_reconstruction_matches_forward_states():
    m = _model()
    ir, vis = _inputs(seed=3)
    layers = m.layers()
    # forward states of the chain, computed directly: inputs of layer l, l = 1..T
    with torch.no_grad():
        x1, x2 = m.input_gain * ir, m.input_gain * vis
        states = []
        for c in layers:
            states.append((x1, x2))
            x1, x2 = coupling_forward(c, x1, x2, ())
    m.rev_trace = []
    m.set_memory_saving("both")
    m(ir, vis).sum().backward()
    trace = m.rev_trace[::-1]  # backward records the last layer first
    assert len(trace) == m.steps
    for (r1, r2), (s1, s2) in zip(trace, states):
        assert float((r1 - s1).abs().max()) <= 1e-10
        assert float((r2 - s2).abs().max()) <= 1e-10


@pytest.mark.parametrize("which", ["down0", "down1", "up0", "up1"])
def test_inner_block_reconstruction(which):
    m = _model()
    unet = m.unet
    c0, c1 = unet.config.channels
    g = torch.Generator().manual_seed(5)
    kind, idx = which[:-1], int(which[-1])
    block = getattr(unet, f"{kind}_blocks")[idx]
    if kind == "down":
        x = torch.randn(2, (c0, c0)[idx], 8, 8, generator=g, dtype=torch.float64)
        h = block.resnets[0](x) if block.width_changing_first else x
        groups, sides = block.coupling_groups(), []
    else:
        width = (c1, c0)[idx]
        skips = [torch.randn(2, c, 8, 8, generator=g, dtype=torch.float64)
                 for c in ((c1, c1, c0), (c0, c0, c0))[idx]]
        x = torch.randn(2, (2 * c1, c1)[idx], 8, 8, generator=g, dtype=torch.float64)
        h = block.resnets[0](torch.cat([x, skips[0]], 1))
        groups, sides = [block.couplings()], skips[1:]
        assert h.shape[1] == width
    # forward states of every coupling, plain
    with torch.no_grad():
        x1, x2 = h, block.input_help_scale * h
        states = []
        for grp in groups:
            for c in grp:
                states.append((x1.clone(), x2.clone()))
                x1, x2 = coupling_forward(c, x1, x2, sides)
    block.rev_trace = []
    if kind == "down":
        out, skips_out = block(x, reversible=True, checkpointing=True)
        loss = out.square().sum() + sum(s.sum() for s in skips_out)
    else:
        loss = block(x, [skips[0]] + sides, reversible=True, checkpointing=True).square().sum()
    loss.backward()
    # the backward of the last group runs first; within a group, the last coupling first
    n_per = [len(grp) for grp in groups]
    trace, recon, start = block.rev_trace, [], 0
    for n in reversed(n_per):
        recon = trace[start:start + n][::-1] + recon
        start += n
    assert len(recon) == len(states)
    for (r1, r2), (s1, s2) in zip(recon, states):
        assert float((r1 - s1).abs().max()) <= 1e-10
        assert float((r2 - s2).abs().max()) <= 1e-10


def test_each_coupling_inverts_exactly():
    m = _model()
    ir, vis = _inputs(seed=7)
    with torch.no_grad():
        for c in m.layers():
            assert isinstance(c, DDIMStep)
            y1, y2 = coupling_forward(c, ir, vis, ())
            x1, x2 = coupling_inverse(c, y1, y2, ())
            assert torch.equal(x1, ir)
            assert float((x2 - vis).abs().max()) <= 1e-12
        blk = m.unet.up_blocks[1]
        c0 = m.unet.config.channels[0]
        g = torch.Generator().manual_seed(0)
        a, b, s1, s2 = (torch.randn(1, c0, 8, 8, generator=g, dtype=torch.float64) for _ in range(4))
        for c in blk.couplings():
            y1, y2 = coupling_forward(c, a, b, [s1, s2])
            x1, x2 = coupling_inverse(c, y1, y2, [s1, s2])
            assert torch.equal(x1, a)
            assert float((x2 - b).abs().max()) <= 1e-12


@pytest.mark.parametrize("freeze_gain", [False, True])
def test_unet_parameters_receive_gradients(freeze_gain):
    """Fails if the reversible path leaves the U-Net (or α, v) without gradient (specs/red.md §7)."""
    torch.manual_seed(0)
    m = build_red("tiny", memory_saving="both")
    m.input_gain.requires_grad_(not freeze_gain)
    ir, vis = (torch.rand(2, 1, 16, 16) for _ in range(2))
    assert not ir.requires_grad
    m(ir, vis).mean().backward()
    for n, p in m.named_parameters():
        if freeze_gain and p is m.input_gain:
            continue
        assert p.grad is not None, f"{n} received no gradient"
        assert float(p.grad.abs().max()) > 0, f"{n} received an all-zero gradient"


def test_requires_grad_pitfall_is_real_without_explicit_parameters():
    """IDM-style call (parameters not passed to the Function, input built from data): autograd does not
    record the Function, so the U-Net would silently get no gradient. RED passes them explicitly."""
    m = build_red("tiny")
    ir, vis = (torch.rand(1, 1, 8, 8) for _ in range(2))
    y1, _ = RevBackProp.apply(ir, vis, m.layers(), 0)
    assert not y1.requires_grad
    y1, _ = run_couplings(m.layers(), ir, vis, params=[p for p in m.unet.parameters()], reversible=True)
    assert y1.requires_grad


def test_memory_saving_path_stores_far_fewer_activations():
    """Bytes autograd keeps for backward (saved-tensor hooks), plain vs reversible, at 64×64."""
    torch.manual_seed(0)
    m = build_red("tiny")
    ir, vis = (torch.rand(2, 1, 64, 64) for _ in range(2))
    param_ptrs = {p.data_ptr() for p in m.parameters()}

    def saved_bytes(mode):
        m.set_memory_saving(mode)
        seen = {}

        def pack(t):
            if t.data_ptr() not in param_ptrs:
                seen[t.data_ptr()] = t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = m(ir, vis)
        out.mean().backward()
        return sum(seen.values())

    plain, both, outer = saved_bytes("none"), saved_bytes("both"), saved_bytes("outer")
    assert both < 0.05 * plain, (both, plain)
    assert outer < 0.05 * plain, (outer, plain)
