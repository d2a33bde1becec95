"""IVIF_ZOO's MS-SSIM and VIF run the reference's float32 torch operations (metrics/_torch_f32.py).

The references here are transcriptions of the reference formulas, written from their definitions
(pytorch-msssim's ``ms_ssim`` as IVIF_ZOO's ``ssim.py`` calls it; ``vifp_mscale`` of IVIF_ZOO's
``Metric_torch.py``) and run by torch on the same machine: the same operations on the same machine
agree to float32 rounding of the final sums (1e-6 is generous), whatever CPU kernels torch picks.
Nothing here depends on how one CPU rounds: on images with flat regions the values themselves
differ between CPUs by up to a few 1e-3 (``benchmarks/ivifzoo_spread.py``).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import metrics
from metrics import _torch_f32

torch = pytest.importorskip("torch")
F_ = torch.nn.functional
REPO_ROOT = Path(__file__).resolve().parents[2]


def _flat_scene(h: int, w: int, seed: int):
    """uint8 (fused, ir, vis) with texture and large flat blocks (saturated and mid-grey): in the
    blocks the IVIF_ZOO values are float32 cancellation noise, so a deviation from the
    reference's float32 operations (a float64 convolution, say) moves them by 1e-5 to 1e-2."""
    rng = np.random.default_rng(seed)
    ir = rng.integers(0, 256, (h, w)).astype(np.float64)
    ir[h // 4:, : w // 2] = 255.0
    ir[: h // 2, w // 2:] = 173.0
    vis = np.clip(ir + rng.normal(0, 20, ir.shape), 0, 255).round()
    vis[h // 4 + 10:, : w // 2 - 10] = 255.0
    vis[h // 2:, w // 2 + 5:] = 201.0
    fused = np.clip(0.5 * ir + 0.5 * vis + rng.normal(0, 3, ir.shape), 0, 255).round()
    fused[h // 3:, : w // 3] = 255.0
    fused[: h // 2 - 5, w // 2 + 5:] = 173.0
    return tuple(x.astype(np.uint8) for x in (fused, ir, vis))


def _t(x) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, dtype=np.float32))[None, None]


def _pytorch_msssim(X, Y):
    """pytorch-msssim ``ms_ssim(X, Y, data_range=255)`` (5 levels, window 11 / 1.5, H then W)."""
    c = torch.arange(11, dtype=torch.float32) - 5
    g = torch.exp(-(c ** 2) / (2 * 1.5 ** 2))
    win = (g / g.sum()).reshape(1, 1, 1, 11)

    def gf(t):
        return F_.conv2d(F_.conv2d(t, win.transpose(2, 3)), win)

    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    terms = []
    for level in range(5):
        m1, m2 = gf(X), gf(Y)
        s1, s2, s12 = gf(X * X) - m1.pow(2), gf(Y * Y) - m2.pow(2), gf(X * Y) - m1 * m2
        cs = (2 * s12 + c2) / (s1 + s2 + c2)
        ss = ((2 * (m1 * m2) + c1) / (m1.pow(2) + m2.pow(2) + c1)) * cs
        if level < 4:
            terms.append(torch.relu(torch.flatten(cs, 2).mean(-1)))
            pad = [s % 2 for s in X.shape[2:]]
            X, Y = F_.avg_pool2d(X, 2, padding=pad), F_.avg_pool2d(Y, 2, padding=pad)
    terms.append(torch.relu(torch.flatten(ss, 2).mean(-1)))
    return torch.prod(torch.stack(terms) ** weights.view(-1, 1, 1), dim=0).mean()


def _vifp_mscale(ref, dist):
    """IVIF_ZOO ``vifp_mscale``: 'same' zero padding, asymmetric window, float32, literal clamps."""
    def window(n):
        x = torch.linspace(-n // 2, n // 2, n)
        xx, yy = torch.meshgrid(x, x, indexing="ij")
        g = torch.exp(-(xx ** 2 + yy ** 2) / (2 * (n / 5) ** 2))
        return (g / g.sum())[None, None]

    num = den = 0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = window(n)

        def conv(t):
            return F_.conv2d(t, win, padding=n // 2)

        if scale > 1:
            ref, dist = conv(ref)[:, :, ::2, ::2], conv(dist)[:, :, ::2, ::2]
        mu1, mu2 = conv(ref), conv(dist)
        s1 = conv(ref * ref) - mu1 * mu1
        s2 = conv(dist * dist) - mu2 * mu2
        s12 = conv(ref * dist) - mu1 * mu2
        s1[s1 < 0] = 0
        s2[s2 < 0] = 0
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        g[s1 < 1e-10] = 0
        sv[s1 < 1e-10] = s2[s1 < 1e-10]
        s1[s1 < 1e-10] = 0
        g[s2 < 1e-10] = 0
        sv[s2 < 1e-10] = 0
        sv[g < 0] = s2[g < 0]
        g[g < 0] = 0
        sv[sv <= 1e-10] = 1e-10
        num += torch.sum(torch.log10(1.0 + g ** 2.0 * s1 / (sv + 2)))
        den += torch.sum(torch.log10(1.0 + s1 / 2))
    return num / den


@pytest.mark.parametrize("shape", [(171, 177), (200, 240)])
def test_ivifzoo_ms_ssim_is_pytorch_msssim_with_the_data_range_quirk(shape):
    f, ir, vis = _flat_scene(*shape, seed=shape[0])
    X, Y, Z = (_t(x) * 255 for x in (ir, vis, f))  # to_tensor leaves float data unscaled, * 255
    ref = float(_pytorch_msssim(X, Z) + _pytorch_msssim(Y, Z))
    assert metrics.ms_ssim(f, ir, vis, convention="ivifzoo") == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("shape", [(150, 160), (97, 130)])
def test_ivifzoo_vif_is_metric_torch_vifp_mscale(shape):
    f, ir, vis = _flat_scene(*shape, seed=shape[1])
    ref = float(_vifp_mscale(_t(ir), _t(f)) + _vifp_mscale(_t(vis), _t(f)))
    assert metrics.vif(f, ir, vis, convention="ivifzoo") == pytest.approx(ref, rel=1e-6)


def _maps(h, w, n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.integers(0, 256, (h, w)).astype(np.float32)
        x[h // 3:, : w // 2] = 255.0
        out.append(_t(x * x))  # values up to 65025: every product rounds
    return out


@pytest.mark.parametrize("n", [17, 9, 5])
def test_conv_each_gives_the_bits_of_separate_calls(n):
    maps = _maps(200, 240, 8)
    win = _torch_f32._ivifzoo_window(torch, n)
    got = _torch_f32.conv_each(torch, maps, win, n // 2)
    ref = [F_.conv2d(m, win, padding=n // 2) for m in maps]
    assert all(torch.equal(a, b) for a, b in zip(got, ref))


def test_conv_each_rejects_a_grouped_call_that_rounds_differently(monkeypatch):
    """Where the grouped call differs from separate calls by one unit in the last place at a
    single output, conv_each must not use it."""
    real = _torch_f32._grouped

    def off_by_one_ulp(torch_, maps, weight, padding):
        out = [o.clone() for o in real(torch_, maps, weight, padding)]
        flat = out[0].view(-1)
        flat[123] = torch.nextafter(flat[123], torch.tensor(np.inf))
        return out

    monkeypatch.setattr(_torch_f32, "_grouped", off_by_one_ulp)
    _torch_f32._grouped_is_exact.cache_clear()
    try:
        maps = _maps(180, 200, 4, seed=3)
        win = _torch_f32._ivifzoo_window(torch, 9)
        got = _torch_f32.conv_each(torch, maps, win, 4)
        ref = [F_.conv2d(m, win, padding=4) for m in maps]
        assert all(torch.equal(a, b) for a, b in zip(got, ref))
    finally:
        _torch_f32._grouped_is_exact.cache_clear()


def test_provenance_marks_the_torch_computed_values_as_machine_dependent():
    for key in ("VIF", "MS-SSIM"):
        p = metrics.provenance(key, "ivifzoo")
        assert "machine-dependent" in p["arithmetic"]
        assert p["torch"]["torch"] == torch.__version__
        assert p["torch"]["threads"] == torch.get_num_threads()
        assert p["version"] == "2.0"
        # the other conventions keep the metric's own version (the torch path has its own)
        assert metrics.get_metric(key).version_for("tang2023") == metrics.get_metric(key).version != "2.0"
        assert "ivifzoo" in metrics.get_metric(key).torch_conventions
    for key in metrics.METRICS:
        for conv in metrics.CONVENTIONS:
            if (key, conv) not in (("VIF", "ivifzoo"), ("MS-SSIM", "ivifzoo")):
                assert "torch" not in metrics.provenance(key, conv), (key, conv)


def test_without_torch_only_the_two_torch_metrics_refuse_and_say_what_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # `import torch` now raises ImportError
        import numpy as np
        import metrics
        rng = np.random.default_rng(0)
        f, a, b = (rng.integers(0, 256, (170, 180)).astype(np.uint8) for _ in range(3))
        for conv in metrics.CONVENTIONS:
            keys = [k for k, m in metrics.METRICS.items() if conv not in m.torch_conventions]
            assert len(metrics.compute(f, a, b, keys, convention=conv)) == len(keys)
        for key in ("VIF", "MS-SSIM"):
            try:
                metrics.compute(f, a, b, [key], convention="ivifzoo")
            except metrics.TorchRequiredError as exc:
                assert isinstance(exc, metrics.MetricInputError) and isinstance(exc, ImportError)
                assert "pip install torch" in str(exc) and key in str(exc), str(exc)
            else:
                raise AssertionError(key + " was computed without torch")
        assert metrics.provenance("VIF", "ivifzoo")["torch"]["torch"] is None
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, cwd=REPO_ROOT, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
