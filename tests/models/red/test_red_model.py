"""RED architecture: parameter count, shapes (specs/red.md §3.2–3.3), DDIM step layer, fuser contract."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import models.red  # noqa: F401  (registers red / red-tiny)
from models import FuserInputError, create_fuser, fuser_spec
from models.base import TorchFuser
from models.red.model import RED, build_red, reference_parameter_count
from models.red.unet import PrunedUNet, UNetConfig


def _tiny_fuser(**kw):
    with pytest.warns(UserWarning, match="randomly initialised"):
        return create_fuser("red-tiny", **kw)


def test_full_parameter_count_on_meta():
    with torch.device("meta"):
        m = build_red("full")
    n = sum(p.numel() for p in m.parameters())
    assert n == reference_parameter_count(2) == 115_247_684 + 31
    assert abs(n - 115.25e6) <= 0.01 * 115.25e6
    with torch.device("meta"):
        m4 = build_red("full", steps=4, coupling="idm")
    assert sum(p.numel() for p in m4.parameters()) == reference_parameter_count(4, "idm")


@pytest.mark.parametrize("hw", [(128, 128), (480, 640)])
def test_full_shapes_on_meta(hw):
    with torch.device("meta"):
        m = build_red("full")
    shapes = {}

    def hook(name):
        return lambda mod, i, o: shapes.__setitem__(name, tuple((o[0] if isinstance(o, tuple) else o).shape))

    u = m.unet
    for name, mod in [("conv_in", u.conv_in), ("down0", u.down_blocks[0]), ("down1", u.down_blocks[1]),
                      ("up0", u.up_blocks[0]), ("up1", u.up_blocks[1]), ("conv_out", u.conv_out)]:
        mod.register_forward_hook(hook(name))
    x = torch.empty(4, 1, *hw, device="meta")
    with torch.no_grad():
        out = m(x, x)
    h, w = hw
    assert tuple(out.shape) == (4, 1, h, w)
    assert shapes == {"conv_in": (4, 320, h // 2, w // 2), "down0": (4, 320, h // 4, w // 4),
                      "down1": (4, 640, h // 4, w // 4), "up0": (4, 640, h // 2, w // 2),
                      "up1": (4, 320, h // 2, w // 2), "conv_out": (4, 4, h // 2, w // 2)}


def test_ddim_step_matches_the_formula():
    torch.manual_seed(0)
    m = build_red("tiny", steps=3).double()
    with torch.no_grad():
        m.alpha_logit.copy_(torch.tensor([0.3, -0.2, 0.1]))
    a = torch.sigmoid(m.alpha_logit.detach())
    ab = [1.0, float(a[0]), float(a[0] * a[1]), float(a[0] * a[1] * a[2])]
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    layers = m.layers()
    assert [c.t for c in layers] == [3, 2, 1]
    with torch.no_grad():
        eps = F.pixel_shuffle(m.unet(F.pixel_unshuffle(x, 2)), 2)
        for c in layers:
            t = c.t
            x0 = (x - (1 - ab[t]) ** 0.5 * eps) / ab[t] ** 0.5
            want = ab[t - 1] ** 0.5 * x0 + (1 - ab[t - 1]) ** 0.5 * eps
            torch.testing.assert_close(c.residual(x), want, rtol=1e-12, atol=1e-12)


def test_chain_wiring_and_output_merge():
    """f_0 = VIS, f_1 = IR, f_{t+1} = f_{t-1} + F_t(f_t); output w·f_{T+1} + (1-w)·f_T."""
    torch.manual_seed(0)
    m = build_red("tiny").double()
    with torch.no_grad():
        m.w.fill_(0.7)
        m.input_gain.fill_(1.3)
    ir, vis = (torch.rand(1, 1, 8, 8, dtype=torch.float64) for _ in range(2))
    f = [1.3 * vis, 1.3 * ir]
    with torch.no_grad():
        for c in m.layers():
            f.append(f[-2] + c.residual(f[-1]))
        out = m(ir, vis)
    torch.testing.assert_close(out, 0.7 * f[-1] + 0.3 * f[-2], rtol=1e-12, atol=1e-12)


def test_initial_values():
    m = build_red("tiny")
    assert float(m.w.detach()) == 1.0 and float(m.input_gain.detach()) == 1.0
    torch.testing.assert_close(m.alpha_bar().detach(), torch.tensor([1.0, 0.5, 0.25]))
    for blk in list(m.unet.down_blocks) + list(m.unet.up_blocks):
        assert torch.all(blk.coupling_v.detach() == 0.5)
        assert float(blk.input_help_scale.detach()) == 1.0
    assert [b.coupling_v.numel() for b in m.unet.down_blocks] == [4, 3]
    assert [b.coupling_v.numel() for b in m.unet.up_blocks] == [5, 5]


def test_model_input_errors():
    m = build_red("tiny")
    with pytest.raises(ValueError, match="multiples of 4"):
        m(torch.rand(1, 1, 10, 12), torch.rand(1, 1, 10, 12))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        m(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        m(np.zeros((1, 1, 8, 8)), torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="steps"):
        build_red("tiny", steps=0)
    with pytest.raises(ValueError, match="memory_saving"):
        build_red("tiny", memory_saving="half")
    with pytest.raises(ValueError, match="variant"):
        build_red("huge")
    with pytest.raises(ValueError, match="divisible"):
        UNetConfig(channels=(30, 64), groups=4)


def test_registry_entries():
    full, tiny = fuser_spec("red"), fuser_spec("red-tiny")
    assert full.needs_weights and not tiny.needs_weights
    assert full.tags == ("heavy",) and tiny.tags == ("tiny",)
    assert full.framework == tiny.framework == "PyTorch"
    assert full.extra["parameters"] == reference_parameter_count(2)
    assert full.extra["reported_train_memory_gb"] == 7.14
    assert "2601.20260" in full.reference


def test_tiny_fuser_runs_with_contract():
    f = _tiny_fuser()
    assert isinstance(f, TorchFuser) and isinstance(f.module, RED)
    assert f.weights_provenance == "random init (no checkpoint)" and f.checkpoint_path is None
    assert f.contract.pad_multiple == 4 and f.contract.clamp_output
    rng = np.random.default_rng(0)
    for h, w in [(37, 53), (1, 1), (4, 4), (2, 9)]:
        ir, vis = rng.random((h, w), dtype=np.float32), rng.random((h, w), dtype=np.float32)
        out = f.run(ir, vis)
        assert out.shape == (h, w) and out.dtype == np.float32
        assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
    batch = f.run_batch(rng.random((2, 12, 20), dtype=np.float32), rng.random((2, 12, 20), dtype=np.float32))
    assert batch.shape == (2, 12, 20)
    with pytest.raises(FuserInputError):
        f.run(np.full((8, 8), 2.0, np.float32), np.zeros((8, 8), np.float32))


def test_fuser_is_deterministic_and_seeded():
    rng = np.random.default_rng(1)
    ir, vis = rng.random((16, 24), dtype=np.float32), rng.random((16, 24), dtype=np.float32)
    a, b, c = _tiny_fuser(seed=0), _tiny_fuser(seed=0), _tiny_fuser(seed=1)
    np.testing.assert_array_equal(a.run(ir, vis), a.run(ir, vis))
    np.testing.assert_array_equal(a.run(ir, vis), b.run(ir, vis))
    assert any(not torch.equal(p, q) for p, q in zip(a.module.parameters(), c.module.parameters()))
    assert a.config_hash() == b.config_hash() != c.config_hash()


def test_ff_chunking_does_not_change_the_output():
    torch.manual_seed(0)
    m = build_red("tiny").eval()
    ir, vis = (torch.rand(1, 1, 32, 32) for _ in range(2))
    with torch.inference_mode():
        ref = m(ir, vis)
        m.unet.set_ff_chunking(37)
        got = m(ir, vis)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_sd_parameter_names_exclude_only_reversible_scalars():
    u = PrunedUNet(UNetConfig.tiny())
    extra = set(u.state_dict()) - set(u.sd_parameter_names())
    assert extra == {f"{b}.{n}" for b in ("down_blocks.0", "down_blocks.1")
                     for n in ("input_help_scale", "merge_scales", "coupling_v")} | \
                    {f"{b}.{n}" for b in ("up_blocks.0", "up_blocks.1")
                     for n in ("input_help_scale", "merge_scale", "coupling_v")}


def test_no_weights_warning_is_not_silent():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        create_fuser("red-tiny")
    assert any(issubclass(w.category, UserWarning) and "randomly initialised" in str(w.message) for w in rec)
