"""The shared building blocks reproduce the MATLAB / OpenCV / PIL / PyTorch operations they stand for.

Loops over pixels and patches appear here only as slow, obviously-correct references.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy import ndimage, signal

from metrics import _primitives as P
from metrics import fidelity as P_fid
from metrics.edge_preservation import qabf_core
from metrics.ssim import MEF_C, mef_ssim, wang_ms_ssim

RNG = np.random.default_rng(7)


def test_matlab_round_is_half_away_from_zero():
    x = np.array([-2.5, -1.5, -0.5, -0.49999999999999994, 0.5, 1.5, 2.5, 0.49999999999999994])
    assert P.matlab_round(x).tolist() == [-3, -2, -1, -0, 1, 2, 3, 0]
    assert np.round(2.5) == 2.0  # numpy is half-to-even, hence the helper
    assert P.to_uint8(np.array([-3.2, 255.5, 127.5])).tolist() == [0, 255, 128]


def test_matlab_rgb2gray_weights_are_the_inverse_yiq_row():
    row = np.linalg.inv([[1, 0.956, 0.621], [1, -0.272, -0.647], [1, -1.106, 1.703]])[0]
    assert np.allclose(P.MATLAB_GREY_WEIGHTS, row, rtol=0, atol=3e-16)
    assert np.allclose(P.MATLAB_GREY_WEIGHTS, [0.298936021293775, 0.587043074451121,
                                               0.114020904255103], rtol=0, atol=1e-15)
    rgb = RNG.integers(0, 256, (40, 50, 3)).astype(np.float64)
    g = P.rgb2gray_matlab(rgb)
    exact = rgb @ np.array(P.MATLAB_GREY_WEIGHTS)
    assert np.array_equal(g, np.floor(exact + 0.5))  # no value lies within 4.6e-6 of a tie


def test_opencv_float_grey_is_bit_exact():
    cv2 = pytest.importorskip("cv2")
    rgb = RNG.integers(0, 256, (512, 1024, 3)).astype(np.float32)  # pixel count multiple of 16
    ref = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, ::-1]), cv2.COLOR_BGR2GRAY)
    assert np.array_equal(P.rgb2gray_opencv_f32(rgb), ref)


def test_pil_grey_is_bit_exact():
    Image = pytest.importorskip("PIL.Image")
    rgb = RNG.integers(0, 256, (300, 400, 3)).astype(np.uint8)
    ref = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))
    assert np.array_equal(P.rgb2gray_pil(rgb.astype(np.float64)), ref)


def test_cddfuse_grey_same_for_pil_and_opencv_reads(metric_fixtures_dir, read_image):
    """CDDFuse read every file with cv2 (3 channels, BGR); the harness passes PIL arrays (1 or 3
    channels). The convention's grey image must not depend on which reader was used."""
    cv2 = pytest.importorskip("cv2")
    from metrics.conventions import Triplet
    for path in sorted(metric_fixtures_dir.glob("*.*g")):
        pil = read_image(path.name)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        ref = np.round(cv2.cvtColor(bgr.astype(np.float32), cv2.COLOR_BGR2GRAY))
        ours = Triplet(pil, pil, pil, "cddfuse").grey("fused")
        assert np.array_equal(ours, ref), path.name


def test_ivifzoo_grey_matches_pil_convert_l(metric_fixtures_dir, read_image):
    Image = pytest.importorskip("PIL.Image")
    from metrics.conventions import Triplet
    for path in sorted(metric_fixtures_dir.glob("*.*g")):
        ref = np.asarray(Image.open(path).convert("L"))
        pil = read_image(path.name)
        assert np.array_equal(Triplet(pil, pil, pil, "ivifzoo").grey("fused"), ref), path.name


def test_fspecial_gaussian_and_its_separable_factor():
    for n, sigma in ((17, 3.4), (9, 1.8), (5, 1.0), (3, 0.6), (11, 1.5)):
        r = np.arange(n) - (n - 1) / 2
        h = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
        h /= h.sum()
        assert np.allclose(P.fspecial_gaussian(n, sigma), h, rtol=1e-14, atol=0)
        g = P.gaussian_factor(n, sigma)
        assert np.allclose(np.outer(g, g), h, rtol=1e-14, atol=1e-18)
    t = P.fspecial_gaussian(9, 0.3)  # tiny sigma: MATLAB zeroes entries below eps*max
    assert t[0, 0] == 0.0 and t.sum() == pytest.approx(1.0) and t[4, 4] > 0.98
    with pytest.raises(RuntimeError):
        P.gaussian_factor(9, 0.3)


@pytest.mark.parametrize("shape", [(41, 57), (17, 17), (64, 23), (100, 130)])
@pytest.mark.parametrize("n", [3, 5, 9, 11, 17])
def test_valid_and_same_correlation_match_scipy(shape, n):
    if min(shape) < n:
        pytest.skip("kernel larger than image")
    x = RNG.random(shape) * 255
    g = RNG.random(n)
    ref = signal.correlate2d(x, np.outer(g, g), "valid")
    for step in (1, 2):
        assert np.allclose(P.correlate_valid(x, g, step), ref[::step, ::step], rtol=1e-13, atol=1e-10)
    assert np.allclose(P.correlate_valid_t(np.stack([x, 2 * x]), g)[1].T, 2 * ref, rtol=1e-13,
                       atol=1e-10)


def test_box_sums_are_exact_on_integers():
    x = RNG.integers(0, 256, (60, 70)).astype(np.float64) ** 2
    ref = signal.correlate2d(x.astype(np.int64), np.ones((11, 11), dtype=np.int64), "valid")
    assert np.array_equal(P.correlate_valid(x, np.ones(11)), ref.astype(np.float64))


def test_conv2_matches_scipy_and_uses_matlab_accumulation_order():
    x = RNG.integers(0, 256, (30, 40)).astype(np.float64)
    for h in (P.SOBEL_X, P.SOBEL_Y):
        assert np.array_equal(P.conv2_same_matlab(x, h), signal.convolve2d(x, h, "same"))
        fast = P.sobel_valid(np.pad(x, 1))[0 if h is P.SOBEL_X else 1]
        assert np.array_equal(fast, signal.convolve2d(x, h, "same"))
    # Non-integer data: accumulate h[r, c] * shifted(x) over the kernel in column-major order.
    y = RNG.random((12, 13)) / 3.0
    h = RNG.normal(size=(3, 3))
    pp = np.pad(y, 1)
    ref = np.zeros_like(y)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            acc = 0.0
            for c in range(3):
                for r in range(3):
                    acc = acc + h[r, c] * pp[i + 2 - r, j + 2 - c]
            ref[i, j] = acc
    assert np.array_equal(P.conv2_same_matlab(y, h), ref)
    assert np.array_equal(np.stack(P.sobel_valid(np.pad(y, 1), exact_order=True)),
                          np.stack([P.conv2_same_matlab(y, P.SOBEL_X),
                                    P.conv2_same_matlab(y, P.SOBEL_Y)]))


def test_edge_sobel_is_imfilter_replicate_up_to_sign():
    x = RNG.random((25, 31)) * 255
    sx, sy = P.sobel_valid(np.pad(x, 1, mode="edge"))
    h = np.array([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]])
    gy = ndimage.correlate(x, h, mode="nearest")
    gx = ndimage.correlate(x, h.T, mode="nearest")
    assert np.allclose(np.abs(sy), np.abs(gy), atol=1e-9)
    assert np.allclose(np.hypot(sx, sy), np.hypot(gx, gy), atol=1e-9)


def test_gradient_is_matlab_gradient():
    x = RNG.random((6, 7))
    gx, gy = P.gradient_matlab(x)
    assert np.allclose(gx[:, 1:-1], (x[:, 2:] - x[:, :-2]) / 2)
    assert np.allclose(gx[:, 0], x[:, 1] - x[:, 0]) and np.allclose(gx[:, -1], x[:, -1] - x[:, -2])
    assert np.allclose(gy[1:-1], (x[2:] - x[:-2]) / 2)


@pytest.mark.parametrize("shape", [(8, 10), (9, 11), (9, 10), (8, 11)])
def test_two_by_two_downsampling_rules(shape):
    x = RNG.integers(0, 256, shape).astype(np.float64)
    ref = ndimage.correlate(x, np.ones((2, 2)) / 4, mode="reflect", origin=-1)[::2, ::2]
    assert np.array_equal(P.mean2x2_symmetric_decimate(x), ref)
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x)[None, None]
    pooled = torch.nn.functional.avg_pool2d(t, 2, padding=[s % 2 for s in shape])[0, 0].numpy()
    assert np.allclose(P.avg_pool2_zero_pad(x), pooled, rtol=0, atol=1e-12)


def test_histograms_and_entropy():
    q = RNG.integers(0, 256, (50, 60))
    h = P.hist256(q)
    assert h.sum() == q.size and np.array_equal(h, np.histogram(q, bins=256, range=(0, 256))[0])
    j = P.joint_hist256(q, 255 - q)
    assert j.sum() == q.size and np.array_equal(j.sum(axis=1), h)
    assert P.entropy(np.array([5, 0, 5])) == pytest.approx(1.0)
    assert P.entropy(np.array([5, 0, 5]), np.e) == pytest.approx(np.log(2))


def _mef_ssim_loop(x1, x2, y):
    """Ma et al.'s MEF-SSIM, patch by patch (slow reference for the vectorised version)."""
    n, eps = 11, np.finfo(float).eps
    g = P.fspecial_gaussian(n, 1.5).ravel()
    q = []
    for i in range(y.shape[0] - n + 1):
        for j in range(y.shape[1] - n + 1):
            xs = [x[i:i + n, j:j + n].ravel() for x in (x1, x2)]
            yv = y[i:i + n, j:j + n].ravel()
            mus = [v.mean() for v in xs]
            cs = [np.sqrt(max(n * n * (np.mean(v * v) - m * m), 0.0)) + 0.001
                  for v, m in zip(xs, mus)]
            tot = xs[0] + xs[1]
            num = np.linalg.norm(tot - tot.mean())
            den = sum(np.linalg.norm(v - m) for v, m in zip(xs, mus))
            R = (num + eps) / (den + eps)
            R = 1 - eps if R > 1 else (eps if R < 0 else R)
            p = min(np.tan(np.pi / 2 * R), 10.0)
            w = np.array([(c / n) ** p + eps for c in cs])
            w /= w.sum()
            s = sum(wk * (v - m) / c for wk, v, m, c in zip(w, xs, mus, cs))
            if np.linalg.norm(s) > 0:
                s = s / np.linalg.norm(s) * max(cs)
            mr, my = np.dot(g, s), np.dot(g, yv)
            vr, vy = np.dot(g, (s - mr) ** 2), np.dot(g, (yv - my) ** 2)
            cov = np.dot(g, (s - mr) * (yv - my))
            q.append((2 * cov + MEF_C) / (vr + vy + MEF_C))
    return float(np.mean(q))


def test_vectorised_mef_ssim_equals_the_patch_loop():
    yy, xx = np.mgrid[0:30, 0:34]
    x1 = np.clip(np.round(100 + 60 * np.sin(xx / 4.0) + RNG.normal(0, 5, xx.shape)), 0, 255)
    x2 = np.clip(np.round(80 + 2 * yy + RNG.normal(0, 8, xx.shape)), 0, 255)
    x2[:, :12] = 90.0  # flat source patches
    y = np.clip(np.round(0.6 * x1 + 0.4 * x2 + RNG.normal(0, 3, xx.shape)), 0, 255)
    assert mef_ssim(x1, x2, y) == pytest.approx(_mef_ssim_loop(x1, x2, y), rel=1e-10)
    assert mef_ssim(x1, x1, x1) == pytest.approx(_mef_ssim_loop(x1, x1, x1), rel=1e-10)


# --------------------------------------------------------------------------------------------------
# PyTorch float32 CPU arithmetic (IVIF_ZOO). References: torch itself, and exact rational arithmetic.
# --------------------------------------------------------------------------------------------------
def _round_f32(v) -> np.float32:
    """Correctly rounded float32 (ties to even) of an exact Fraction ``v``."""
    r = np.float32(float(v))  # within one unit of the answer
    cands = [np.nextafter(r, np.float32(-np.inf)), r, np.nextafter(r, np.float32(np.inf))]
    dist = [abs(Fraction(float(c)) - v) for c in cands]
    best = min(dist)
    ties = [c for c, d in zip(cands, dist) if d == best]
    return min(ties, key=lambda c: int(np.array(c).view(np.int32)) & 1)


def _fma_f32(acc, w, x):
    acc = np.array(acc, dtype=np.float32)
    acc64 = acc.astype(np.float64)
    p = np.full(acc.shape, np.float64(np.float32(x)) * np.float64(np.float32(w)))
    s = p + acc64
    P._fma_f32_into(acc, acc64, s, p, np.empty(acc.shape, dtype=np.int64),
                    np.empty(acc.shape, dtype=bool))
    assert np.array_equal(acc64, acc)
    return acc


def test_fma_emulation_rounds_once():
    # a float64 sum that lands exactly on a float32 midpoint although the exact sum is below it:
    # rounding twice gives 2^30 + 2^8, one fused multiply-add gives 2^30 + 2^7
    acc = np.float32(2.0 ** 30 + 2.0 ** 7)
    w, x = np.float32(1 + 2.0 ** -15), np.float32(2.0 ** 6 * (1 - 2.0 ** -15))
    assert np.float32(np.float64(acc) + np.float64(w) * np.float64(x)) == 2.0 ** 30 + 2.0 ** 8
    assert _fma_f32([acc], w, x)[0] == 2.0 ** 30 + 2.0 ** 7
    rng = np.random.default_rng(11)
    for _ in range(3000):
        a, w, x = (np.float32(rng.normal() * 2.0 ** rng.integers(-30, 30)) for _ in range(3))
        if rng.random() < 0.3:  # products far below the accumulator: the rounding-prone case
            x = np.float32(x * 2.0 ** -40)
        exact = Fraction(float(a)) + Fraction(float(w)) * Fraction(float(x))
        assert _fma_f32([a], w, x)[0] == _round_f32(exact), (a, w, x)


# shapes around PyTorch's oneDNN / native switch (input numel > 20480 -> oneDNN)
_CONV_SHAPES = [(128, 160), (129, 160), (60, 70), (171, 177)]


@pytest.mark.parametrize("shape", _CONV_SHAPES)
def test_torch_conv2d_f32_is_bit_exact(shape):
    torch = pytest.importorskip("torch")
    F_ = torch.nn.functional
    rng = np.random.default_rng(shape[0])
    base = rng.integers(0, 256, shape).astype(np.float32)
    base[: shape[0] // 3, : shape[1] // 2] = 255.0  # a flat block
    data = [base, base * base, (base * 255) * (base * 255), base * np.float32(0.37)]
    g = P.torch_gaussian_1d_f32(11, 1.5)
    kernels = [(P.torch_ivifzoo_vif_window_f32(n), n // 2) for n in (17, 9, 5, 3)]
    kernels += [(g[:, None], 0), (g[None, :], 0)]
    for x in data:
        for w, pad in kernels:
            ref = F_.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None],
                            padding=pad)[0, 0].numpy()
            assert np.array_equal(P.torch_conv2d_f32(x, w, pad), ref), (w.shape, x.dtype)
            assert np.array_equal(P.torch_conv2d_f32(x, w, pad, step=2), ref[::2, ::2])
    stack = P.torch_conv2d_f32(np.stack(data[:2]), kernels[0][0], 8)
    ref = F_.conv2d(torch.from_numpy(data[1])[None, None],
                    torch.from_numpy(kernels[0][0])[None, None], padding=8)[0, 0].numpy()
    assert np.array_equal(stack[1], ref)


def test_torch_windows_match_torch():
    torch = pytest.importorskip("torch")
    c = torch.arange(11, dtype=torch.float32) - 5
    g = torch.exp(-(c ** 2) / (2 * 1.5 ** 2))
    assert np.array_equal(P.torch_gaussian_1d_f32(11, 1.5), (g / g.sum()).numpy())
    for n, allowed in ((17, 4), (9, 0), (5, 0), (3, 0)):
        x = torch.linspace(-n // 2, n // 2, n)
        xx, yy = torch.meshgrid(x, x, indexing="ij")
        w = torch.exp(-(xx ** 2 + yy ** 2) / (2 * (n / 5) ** 2))
        w = (w / w.sum()).numpy()
        ours = P.torch_ivifzoo_vif_window_f32(n)
        # torch's vectorised float32 exp is not correctly rounded at 4 taps of n = 17 (1 ulp)
        ulps = np.abs(ours.view(np.int32).astype(np.int64) - w.view(np.int32))
        assert ulps.max() <= 1 and np.count_nonzero(ulps) <= allowed, n


def _torch_flat_scene(torch, h, w, seed):
    """Float32 0-255 test images with texture and a large saturated block (float32 noise there
    decides the IVIF_ZOO values)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (h, w)).astype(np.float32)
    x[h // 4:, : w // 2] = 255.0
    y = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).round().astype(np.float32)
    y[h // 4 + 10:, : w // 2 - 10] = 255.0
    return x, y


def test_wang_ms_ssim_follows_pytorch_msssim_in_float32():
    """ivifzoo MS-SSIM against a transcription of pytorch-msssim run by torch in float32, with
    IVIF_ZOO's inputs (0-255 data times 255, data_range 255)."""
    torch = pytest.importorskip("torch")
    F_ = torch.nn.functional
    for h, w in ((171, 177), (200, 240)):
        x, y = _torch_flat_scene(torch, h, w, h)
        c = torch.arange(11, dtype=torch.float32) - 5
        win = torch.exp(-(c ** 2) / (2 * 1.5 ** 2))
        win = (win / win.sum()).reshape(1, 1, 1, 11)

        def gf(t):
            return F_.conv2d(F_.conv2d(t, win.transpose(2, 3)), win)

        X = torch.from_numpy(x)[None, None] * 255.0
        Y = torch.from_numpy(y)[None, None] * 255.0
        weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
        C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        terms = []
        for level in range(5):
            m1, m2 = gf(X), gf(Y)
            s1, s2, s12 = gf(X * X) - m1.pow(2), gf(Y * Y) - m2.pow(2), gf(X * Y) - m1 * m2
            cs = (2 * s12 + C2) / (s1 + s2 + C2)
            ss = ((2 * m1 * m2 + C1) / (m1.pow(2) + m2.pow(2) + C1)) * cs
            if level < 4:
                terms.append(torch.relu(cs.mean()))
                pad = [s % 2 for s in X.shape[2:]]
                X, Y = F_.avg_pool2d(X, 2, padding=pad), F_.avg_pool2d(Y, 2, padding=pad)
        terms.append(torch.relu(ss.mean()))
        ref = float(torch.prod(torch.stack(terms) ** weights))
        ours = wang_ms_ssim([x * np.float32(255)], y * np.float32(255), 255.0)
        assert ours.shape == (1,)
        assert ours[0] == pytest.approx(ref, rel=1e-6), (h, w)


def test_ivifzoo_vif_follows_metric_torch_in_float32():
    """vifp_torch_f32 against a transcription of IVIF_ZOO's ``vifp_mscale`` run by torch."""
    torch = pytest.importorskip("torch")
    F_ = torch.nn.functional

    def window(n):
        x = torch.linspace(-n // 2, n // 2, n)
        xx, yy = torch.meshgrid(x, x, indexing="ij")
        g = torch.exp(-(xx ** 2 + yy ** 2) / (2 * (n / 5) ** 2))
        return g / g.sum()

    def conv(t, w):
        return F_.conv2d(t[None, None], w[None, None], padding=w.shape[0] // 2)[0, 0]

    def vifp(ref, dist):
        num = den = 0.0
        for scale in range(1, 5):
            n = 2 ** (4 - scale + 1) + 1
            win = window(n)
            if scale > 1:
                ref, dist = conv(ref, win)[::2, ::2], conv(dist, win)[::2, ::2]
            mu1, mu2 = conv(ref, win), conv(dist, win)
            s1 = conv(ref * ref, win) - mu1 * mu1
            s2 = conv(dist * dist, win) - mu2 * mu2
            s12 = conv(ref * dist, win) - mu1 * mu2
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
            num += float(torch.sum(torch.log10(1 + g ** 2 * s1 / (sv + 2))))
            den += float(torch.sum(torch.log10(1 + s1 / 2)))
        return num / den

    x, y = _torch_flat_scene(torch, 150, 160, 3)
    res = P_fid.vifp_torch_f32([x, y], y * np.float32(0.5) + x * np.float32(0.5))
    for k, ref_img in enumerate((x, y)):
        fused = torch.from_numpy(y * np.float32(0.5) + x * np.float32(0.5))
        ref = vifp(torch.from_numpy(ref_img), fused)
        assert res["vif_num"][k] / res["vif_den"][k] == pytest.approx(ref, rel=1e-5)


def test_qabf_core_exact_order_equals_fast_path_on_integers():
    a, b, f = (RNG.integers(0, 256, (40, 50)).astype(np.float64) for _ in range(3))
    a[:10, :10] = b[:10, :10] = f[:10, :10] = 7.0  # ties and zero gradients
    assert qabf_core(a, b, f, exact_order=True) == pytest.approx(
        qabf_core(a, b, f, exact_order=False), rel=1e-15)
