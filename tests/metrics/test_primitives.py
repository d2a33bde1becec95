"""The shared building blocks reproduce the MATLAB / OpenCV / PIL operations they stand for.

Loops over pixels and patches appear here only as slow, obviously-correct references.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, signal

from metric_helpers import read_fixture_image
from metrics import _filters as W
from metrics import _histograms as H
from metrics import _matlab as M
from metrics.edge_preservation import qabf_core
from metrics.ssim import MEF_C, mef_ssim

RNG = np.random.default_rng(7)


def test_matlab_round_is_half_away_from_zero():
    x = np.array([-2.5, -1.5, -0.5, -0.49999999999999994, 0.5, 1.5, 2.5, 0.49999999999999994])
    assert M.matlab_round(x).tolist() == [-3, -2, -1, -0, 1, 2, 3, 0]
    assert np.round(2.5) == 2.0  # numpy is half-to-even, hence the helper
    assert M.to_uint8(np.array([-3.2, 255.5, 127.5])).tolist() == [0, 255, 128]


def test_matlab_rgb2gray_weights_are_the_inverse_yiq_row():
    row = np.linalg.inv([[1, 0.956, 0.621], [1, -0.272, -0.647], [1, -1.106, 1.703]])[0]
    assert np.allclose(M.MATLAB_GREY_WEIGHTS, row, rtol=0, atol=3e-16)
    assert np.allclose(M.MATLAB_GREY_WEIGHTS, [0.298936021293775, 0.587043074451121,
                                               0.114020904255103], rtol=0, atol=1e-15)
    rgb = RNG.integers(0, 256, (40, 50, 3)).astype(np.float64)
    g = M.rgb2gray_matlab(rgb)
    exact = rgb @ np.array(M.MATLAB_GREY_WEIGHTS)
    assert np.array_equal(g, np.floor(exact + 0.5))  # no value lies within 4.6e-6 of a tie


def test_opencv_float_grey_is_bit_exact():
    cv2 = pytest.importorskip("cv2")
    rgb = RNG.integers(0, 256, (512, 1024, 3)).astype(np.float32)  # pixel count multiple of 16
    ref = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, ::-1]), cv2.COLOR_BGR2GRAY)
    assert np.array_equal(M.rgb2gray_opencv_f32(rgb), ref)


def test_pil_grey_is_bit_exact():
    Image = pytest.importorskip("PIL.Image")
    rgb = RNG.integers(0, 256, (300, 400, 3)).astype(np.uint8)
    ref = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))
    assert np.array_equal(M.rgb2gray_pil(rgb.astype(np.float64)), ref)


def test_cddfuse_grey_same_for_pil_and_opencv_reads(fixture_place):
    """CDDFuse read every file with cv2 (3 channels, BGR); the harness passes PIL arrays (1 or 3
    channels). The convention's grey image must not depend on which reader was used."""
    cv2 = pytest.importorskip("cv2")
    from metrics._triplet import Triplet
    _, folder = fixture_place
    for path in sorted(folder.glob("*.*g")):
        pil = read_fixture_image(folder, path.name)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        ref = np.round(cv2.cvtColor(bgr.astype(np.float32), cv2.COLOR_BGR2GRAY))
        ours = Triplet(pil, pil, pil, "cddfuse").grey("fused")
        assert np.array_equal(ours, ref), path.name


def test_ivifzoo_grey_matches_pil_convert_l(fixture_place):
    Image = pytest.importorskip("PIL.Image")
    from metrics._triplet import Triplet
    _, folder = fixture_place
    for path in sorted(folder.glob("*.*g")):
        ref = np.asarray(Image.open(path).convert("L"))
        pil = read_fixture_image(folder, path.name)
        assert np.array_equal(Triplet(pil, pil, pil, "ivifzoo").grey("fused"), ref), path.name


def test_fspecial_gaussian_and_its_separable_factor():
    for n, sigma in ((17, 3.4), (9, 1.8), (5, 1.0), (3, 0.6), (11, 1.5)):
        r = np.arange(n) - (n - 1) / 2
        h = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
        h /= h.sum()
        assert np.allclose(W.fspecial_gaussian(n, sigma), h, rtol=1e-14, atol=0)
        g = W.gaussian_factor(n, sigma)
        assert np.allclose(np.outer(g, g), h, rtol=1e-14, atol=1e-18)
    t = W.fspecial_gaussian(9, 0.3)  # tiny sigma: MATLAB zeroes entries below eps*max
    assert t[0, 0] == 0.0 and t.sum() == pytest.approx(1.0) and t[4, 4] > 0.98
    with pytest.raises(RuntimeError):
        W.gaussian_factor(9, 0.3)


@pytest.mark.parametrize("shape", [(41, 57), (17, 17), (64, 23), (100, 130)])
@pytest.mark.parametrize("n", [3, 5, 9, 11, 17])
def test_valid_and_same_correlation_match_scipy(shape, n):
    if min(shape) < n:
        pytest.skip("kernel larger than image")
    x = RNG.random(shape) * 255
    g = RNG.random(n)
    ref = signal.correlate2d(x, np.outer(g, g), "valid")
    for step in (1, 2):
        assert np.allclose(W.correlate_valid(x, g, step), ref[::step, ::step], rtol=1e-13, atol=1e-10)
    assert np.allclose(W.correlate_valid_t(np.stack([x, 2 * x]), g)[1].T, 2 * ref, rtol=1e-13,
                       atol=1e-10)


def test_box_sums_are_exact_on_integers():
    x = RNG.integers(0, 256, (60, 70)).astype(np.float64) ** 2
    ref = signal.correlate2d(x.astype(np.int64), np.ones((11, 11), dtype=np.int64), "valid")
    assert np.array_equal(W.correlate_valid(x, np.ones(11)), ref.astype(np.float64))


def test_conv2_matches_scipy_and_uses_matlab_accumulation_order():
    x = RNG.integers(0, 256, (30, 40)).astype(np.float64)
    for h in (W.SOBEL_X, W.SOBEL_Y):
        assert np.array_equal(W.conv2_same_matlab(x, h), signal.convolve2d(x, h, "same"))
        fast = W.sobel_valid(np.pad(x, 1))[0 if h is W.SOBEL_X else 1]
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
    assert np.array_equal(W.conv2_same_matlab(y, h), ref)
    assert np.array_equal(np.stack(W.sobel_valid(np.pad(y, 1), exact_order=True)),
                          np.stack([W.conv2_same_matlab(y, W.SOBEL_X),
                                    W.conv2_same_matlab(y, W.SOBEL_Y)]))


def test_edge_sobel_is_imfilter_replicate_up_to_sign():
    x = RNG.random((25, 31)) * 255
    sx, sy = W.sobel_valid(np.pad(x, 1, mode="edge"))
    h = np.array([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]])
    gy = ndimage.correlate(x, h, mode="nearest")
    gx = ndimage.correlate(x, h.T, mode="nearest")
    assert np.allclose(np.abs(sy), np.abs(gy), atol=1e-9)
    assert np.allclose(np.hypot(sx, sy), np.hypot(gx, gy), atol=1e-9)


def test_gradient_is_matlab_gradient():
    x = RNG.random((6, 7))
    gx, gy = W.gradient_matlab(x)
    assert np.allclose(gx[:, 1:-1], (x[:, 2:] - x[:, :-2]) / 2)
    assert np.allclose(gx[:, 0], x[:, 1] - x[:, 0]) and np.allclose(gx[:, -1], x[:, -1] - x[:, -2])
    assert np.allclose(gy[1:-1], (x[2:] - x[:-2]) / 2)


@pytest.mark.parametrize("shape", [(8, 10), (9, 11), (9, 10), (8, 11)])
def test_matlab_two_by_two_downsampling(shape):
    x = RNG.integers(0, 256, shape).astype(np.float64)
    ref = ndimage.correlate(x, np.ones((2, 2)) / 4, mode="reflect", origin=-1)[::2, ::2]
    assert np.array_equal(W.mean2x2_symmetric_decimate(x), ref)


def test_histograms_and_entropy():
    q = RNG.integers(0, 256, (50, 60))
    h = H.hist256(q)
    assert h.sum() == q.size and np.array_equal(h, np.histogram(q, bins=256, range=(0, 256))[0])
    j = H.joint_hist256(q, 255 - q)
    assert j.sum() == q.size and np.array_equal(j.sum(axis=1), h)
    assert H.entropy(np.array([5, 0, 5])) == pytest.approx(1.0)
    assert H.entropy(np.array([5, 0, 5]), np.e) == pytest.approx(np.log(2))


def _mef_ssim_loop(x1, x2, y):
    """Ma et al.'s MEF-SSIM, patch by patch (slow reference for the vectorised version)."""
    n, eps = 11, np.finfo(float).eps
    g = W.fspecial_gaussian(n, 1.5).ravel()
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


def test_qabf_core_exact_order_equals_fast_path_on_integers():
    a, b, f = (RNG.integers(0, 256, (40, 50)).astype(np.float64) for _ in range(3))
    a[:10, :10] = b[:10, :10] = f[:10, :10] = 7.0  # ties and zero gradients
    assert qabf_core(a, b, f, exact_order=True) == pytest.approx(
        qabf_core(a, b, f, exact_order=False), rel=1e-15)
