"""Classical baselines: properties, independent (loop/SciPy) oracles of their building blocks, and
agreement with the fused images VIFB publishes for GFF and ADF."""
from __future__ import annotations

import numpy as np
import pytest
import pywt
import scipy.ndimage as ndi
from PIL import Image

import models
from models.baselines._rules import select_detail
from models.baselines.adf import anisotropic_diffusion, kl_weights
from models.baselines.cbf import cross_bilateral_filter, window_covariance_traces
from models.baselines.gff import guided_filter
from models.baselines.msvd import fuse_msvd, imsvd, msvd
from models.baselines.pyramid import _fuse_pyramid
from models.baselines.tif import TIFFuser

from _fuser_images import smooth_image, smooth_pair  # tests/models is on sys.path under pytest

BASELINES = ["mean", "max", "lp", "rp", "dwt", "gff", "tif", "msvd", "adf", "cbf"]
CLAMPING = {"lp", "rp", "dwt", "gff", "tif", "msvd", "adf"}


def test_the_ten_baselines_are_registered_with_citations():
    for name in BASELINES:
        spec = models.fuser_spec(name)
        assert "classical" in spec.tags
        assert not spec.needs_weights
        assert any(str(year) in spec.reference for year in range(1983, 2017)), spec.reference
        fuser = models.create_fuser(name)
        assert fuser.num_parameters() == 0 and fuser.weights_provenance == "weight-free"
        doc = type(fuser).__doc__ or ""
        assert doc.strip(), f"{name}: no docstring"


@pytest.mark.parametrize("name", BASELINES)
def test_output_policy_is_declared(name):
    fuser = models.create_fuser(name)
    assert fuser.contract.clamp_output == (name in CLAMPING)
    assert ("clamp" in fuser.output_policy) == (name in CLAMPING)
    assert "stretch" not in fuser.output_policy or "no min-max stretch" in fuser.output_policy


@pytest.mark.parametrize("name", BASELINES)
def test_fusing_an_image_with_itself_returns_it(name):
    x = smooth_image(45, 61, seed=21)
    np.testing.assert_allclose(models.create_fuser(name).run(x, x.copy()), x, atol=2e-6)


@pytest.mark.parametrize("name", BASELINES)
def test_swapping_the_inputs_gives_the_same_result(name):
    a, b = smooth_pair(47, 58, seed=22)
    fuser = models.create_fuser(name)
    np.testing.assert_allclose(fuser.run(a, b), fuser.run(b, a), atol=2e-6)


# Not for msvd (a flat image's basis is degenerate and averaging it with the other basis mixes the
# bands) nor adf (10 diffusion steps leave part of the fine texture in the averaged base layer).
@pytest.mark.parametrize("name", ["lp", "rp", "dwt", "gff", "tif", "cbf"])
def test_detail_of_a_textured_source_survives_fusion_with_a_flat_one(name):
    # a flat (constant) source carries no detail: the fused image keeps the other source's fine
    # detail in full (the plain average would keep half of it)
    textured = smooth_image(96, 96, seed=23, cell=4)
    flat = np.full_like(textured, 0.5)
    fused = models.create_fuser(name).run(textured, flat)
    hp = lambda im: im - ndi.uniform_filter(im.astype(np.float64), 5, mode="reflect")  # noqa: E731
    core = (slice(8, -8), slice(8, -8))
    ratio = np.std(hp(fused)[core]) / np.std(hp(textured)[core])
    assert 0.75 < ratio < 1.25, f"{name}: high-pass energy ratio {ratio:.3f}"


# ----------------------------------------------------------------- mean / max
def test_mean_is_the_weighted_average():
    a, b = smooth_pair(20, 30)
    out = models.create_fuser("mean", weight=0.3).run(a, b)
    np.testing.assert_allclose(out, 0.3 * a + 0.7 * b, atol=1e-6)
    with pytest.raises(ValueError, match="weight"):
        models.create_fuser("mean", weight=1.5)


def test_max_is_the_max_absolute_rule():
    a, b = smooth_pair(20, 30)
    np.testing.assert_array_equal(models.create_fuser("max").run(a, b), np.maximum(a, b))


# ----------------------------------------------------------------- detail rules (Li et al. 1995)
def _naive_li_select(c1, c2):
    """Rockinger's selc(M1, M2, 3), written pixel by pixel."""
    h, w = c1.shape
    e1 = np.pad(np.abs(c1), 1, mode="reflect")
    e2 = np.pad(np.abs(c2), 1, mode="reflect")
    z1, z2 = np.pad(e1, 1), np.pad(e2, 1)  # zero outside the extended grid (ordfilt2)
    a1 = np.zeros_like(e1)
    a2 = np.zeros_like(e2)
    for i in range(h + 2):
        for j in range(w + 2):
            a1[i, j] = z1[i:i + 3, j:j + 3].max()
            a2[i, j] = z2[i:i + 3, j:j + 3].max()
    decision = (a1 > a2).astype(float)
    out = np.empty_like(c1)
    for i in range(h):
        for j in range(w):
            out[i, j] = c1[i, j] if decision[i:i + 3, j:j + 3].sum() > 4 else c2[i, j]
    return out


def test_consistency_rule_matches_a_pixel_loop():
    rng = np.random.default_rng(0)
    c1, c2 = rng.standard_normal((2, 9, 13))
    np.testing.assert_array_equal(select_detail(c1, c2, "consistency"), _naive_li_select(c1, c2))
    np.testing.assert_array_equal(select_detail(c1, c2, "maxabs"), np.where(np.abs(c1) > np.abs(c2), c1, c2))


# ----------------------------------------------------------------- LP / RP
def _naive_pyramid_fusion(a, b, levels, rule, ratio):
    """Rockinger's lp/rp_fuse with SciPy filtering ('mirror' = symmetric, edge sample not repeated)."""
    w5 = np.array([1, 4, 6, 4, 1]) / 16
    eps = 1e-6 / 255

    def filt(x, k):
        return ndi.correlate1d(ndi.correlate1d(x, k, axis=0, mode="mirror"), k, axis=1, mode="mirror")

    def expand(x):
        up = np.zeros((2 * x.shape[0], 2 * x.shape[1]))
        up[::2, ::2] = x
        return filt(up, 2 * w5)

    stack = []
    for _ in range(levels):
        h, w = a.shape
        if h % 2 or w % 2:  # Rockinger's adb: append mirrored row/column
            a = np.pad(a, ((0, h % 2), (0, w % 2)), mode="reflect")
            b = np.pad(b, ((0, h % 2), (0, w % 2)), mode="reflect")
        la, lb = filt(a, w5)[::2, ::2], filt(b, w5)[::2, ::2]
        if ratio:
            ea, eb = a / (expand(la) + eps), b / (expand(lb) + eps)
        else:
            ea, eb = a - expand(la), b - expand(lb)
        stack.append((select_detail(ea, eb, rule), (h, w)))
        a, b = la, lb
    f = (a + b) / 2
    for e, (h, w) in reversed(stack):
        f = ((expand(f) + eps) * e if ratio else expand(f) + e)[:h, :w]
    return f


@pytest.mark.parametrize("ratio", [False, True])
@pytest.mark.parametrize("rule", ["consistency", "maxabs"])
def test_pyramid_fusion_matches_scipy_oracle(ratio, rule):
    a, b = (x.astype(np.float64) for x in smooth_pair(37, 51, seed=31))
    ours = _fuse_pyramid(a, b, 3, rule, ratio)
    np.testing.assert_allclose(ours, _naive_pyramid_fusion(a, b, 3, rule, ratio), atol=1e-10)


def test_pyramid_contract_and_parameters():
    assert models.create_fuser("lp").contract.min_size == 17  # 4 levels, every level >= 3 samples
    assert models.create_fuser("rp", levels=2).contract.min_size == 5
    with pytest.raises(ValueError, match="levels"):
        models.create_fuser("lp", levels=0)
    with pytest.raises(ValueError, match="rule"):
        models.create_fuser("lp", rule="max")


# ----------------------------------------------------------------- DWT
def test_dwt_fuses_coefficients_as_specified():
    a, b = smooth_pair(64, 96, seed=41)  # sides divisible by 2**4: the transform is exactly invertible
    fuser = models.create_fuser("dwt", rule="maxabs")
    fused = fuser.fuse(a, b)
    ca = pywt.wavedec2(a.astype(np.float64), "db1", mode="periodization", level=4)
    cb = pywt.wavedec2(b.astype(np.float64), "db1", mode="periodization", level=4)
    cf = pywt.wavedec2(fused, "db1", mode="periodization", level=4)
    np.testing.assert_allclose(cf[0], (ca[0] + cb[0]) / 2, atol=1e-12)
    for la, lb, lf in zip(ca[1:], cb[1:], cf[1:]):
        for x, y, z in zip(la, lb, lf):
            np.testing.assert_allclose(z, np.where(np.abs(x) > np.abs(y), x, y), atol=1e-12)


def test_dwt_contract_and_parameters():
    assert models.create_fuser("dwt").contract.min_size == 16
    assert models.create_fuser("dwt", wavelet="db2").contract.min_size == 48
    with pytest.raises(ValueError, match="wavelet"):
        models.create_fuser("dwt", wavelet="nope")


# ----------------------------------------------------------------- GFF
def _naive_guided_filter(guide, src, r, eps):
    h, w = guide.shape

    def local_mean(x):
        out = np.empty_like(x)
        for i in range(h):
            for j in range(w):
                out[i, j] = x[max(i - r, 0):i + r + 1, max(j - r, 0):j + r + 1].mean()
        return out

    mi, mp = local_mean(guide), local_mean(src)
    a = (local_mean(guide * src) - mi * mp) / (local_mean(guide * guide) - mi * mi + eps)
    b = mp - a * mi
    return local_mean(a) * guide + local_mean(b)


def test_guided_filter_matches_its_definition():
    g, p = (x.astype(np.float64) for x in smooth_pair(11, 14, seed=51))
    for r, eps in ((2, 1e-3), (20, 0.3)):  # r = 20 exceeds the image: windows are clipped
        np.testing.assert_allclose(guided_filter(g, p, r, eps), _naive_guided_filter(g, p, r, eps), atol=1e-10)


# ----------------------------------------------------------------- TIF
def test_tif_matches_scipy_oracle():
    a, b = (x.astype(np.float64) for x in smooth_pair(41, 57, seed=61))
    bases, details, sal = [], [], []
    for img in (b, a):
        base = ndi.uniform_filter(img, 35, mode="wrap")
        bases.append(base)
        details.append(img - base)
        sal.append((base - ndi.median_filter(img, 3, mode="constant", cval=0.0)) ** 2)
    w1 = sal[0] / (sal[0] + sal[1])
    expected = 0.5 * (bases[0] + bases[1]) + w1 * details[0] + (1 - w1) * details[1]
    np.testing.assert_allclose(TIFFuser().fuse(a.astype(np.float32), b.astype(np.float32)), expected, atol=1e-6)


def test_tif_equal_zero_saliencies_get_equal_weights():
    flat = np.full((20, 20), 0.25, dtype=np.float32)
    other = np.full((20, 20), 0.75, dtype=np.float32)
    out = models.create_fuser("tif").run(flat, other)
    # interior: both saliencies are 0 (mean == median) -> 0.5/0.5 instead of the reference's 0/0
    np.testing.assert_allclose(out[2:-2, 2:-2], 0.5, atol=1e-6)


# ----------------------------------------------------------------- MSVD
def test_msvd_matches_block_svd_and_inverts():
    x = smooth_image(18, 26, seed=71).astype(np.float64)
    t, u = msvd(x)
    blocks = np.stack([x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]]).reshape(4, -1)
    u_ref, s_ref, _ = np.linalg.svd(blocks, full_matrices=False)
    np.testing.assert_allclose(np.abs(u), np.abs(u_ref), atol=1e-8)
    np.testing.assert_allclose(u.T @ u, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(np.sqrt((t.reshape(4, -1) ** 2).sum(axis=1)), s_ref, rtol=1e-8)
    np.testing.assert_allclose(imsvd(t, u), x, atol=1e-12)
    with pytest.raises(ValueError, match="even"):
        msvd(x[:-1])


def test_msvd_fusion_is_invariant_to_svd_signs():
    a, b = (x.astype(np.float64) for x in smooth_pair(30, 40, seed=72))
    (ta, ua), (tb, ub) = msvd(a), msvd(b)
    ref = fuse_msvd(ta, ua, tb, ub)
    flip = np.array([1.0, -1.0, 1.0, -1.0])  # negate two singular vectors of the second image
    np.testing.assert_allclose(fuse_msvd(ta, ua, tb * flip[:, None, None], ub * flip), ref, atol=1e-12)
    np.testing.assert_allclose(fuse_msvd(ta * flip[:, None, None], ua * flip, tb, ub), ref, atol=1e-12)


# ----------------------------------------------------------------- ADF
def _naive_anisodiff(img, num_iter, delta_t, kappa):
    """anisodiff2D.m, option 1: eight explicit neighbour differences with zero padding."""
    u = img.astype(np.float64).copy()
    h, w = u.shape
    for _ in range(num_iter):
        p = np.pad(u, 1)
        total = np.zeros_like(u)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy == dx == 0:
                    continue
                nabla = p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - u
                weight = 1.0 if dy == 0 or dx == 0 else 0.5
                total += weight * np.exp(-(nabla / kappa) ** 2) * nabla
        u = u + delta_t * total
    return u


def test_anisotropic_diffusion_matches_the_eight_direction_scheme():
    x = smooth_image(23, 31, seed=81)
    np.testing.assert_allclose(anisotropic_diffusion(x, 10, 0.15, 30 / 255),
                               _naive_anisodiff(x, 10, 0.15, 30 / 255), atol=1e-12)


def test_kl_weights():
    rng = np.random.default_rng(82)
    d = rng.standard_normal((16, 16))
    np.testing.assert_allclose(kl_weights(d, d), [0.5, 0.5], atol=1e-12)
    p = kl_weights(d, 0.1 * rng.standard_normal((16, 16)))
    assert p[0] > 0.9 and abs(p.sum() - 1) < 1e-12  # the dominant detail gets almost all the weight
    with pytest.raises(ArithmeticError, match="undefined"):
        kl_weights(d, -d)


# ----------------------------------------------------------------- CBF
def _naive_cross_bilateral(x, guide, sigma_s, sigma_r, ksize):
    r = ksize // 2
    xp, gp = np.pad(x.astype(np.float64), r, mode="reflect"), np.pad(guide.astype(np.float64), r, mode="reflect")
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    gk = np.exp(-(yy ** 2 + xx ** 2) / (2 * sigma_s ** 2))
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            wx = xp[i:i + ksize, j:j + ksize]
            wg = gp[i:i + ksize, j:j + ksize]
            rk = np.exp(-((wg - gp[i + r, j + r]) ** 2) / (2 * sigma_r ** 2))
            out[i, j] = (wx * gk * rk).sum() / (gk * rk).sum()
    return out


def test_cross_bilateral_filter_matches_a_pixel_loop():
    x, g = smooth_pair(13, 17, seed=91)
    ours = cross_bilateral_filter(x, g, 1.8, 25 / 255, 11)
    np.testing.assert_allclose(ours, _naive_cross_bilateral(x, g, 1.8, 25 / 255, 11), atol=2e-6)


def test_cbf_weights_are_covariance_traces():
    rng = np.random.default_rng(92)
    d = rng.standard_normal((9, 12))
    dp = np.pad(d, 2, mode="reflect")
    expected = np.empty_like(d)
    for i in range(9):
        for j in range(12):
            win = dp[i:i + 5, j:j + 5]
            expected[i, j] = np.trace(np.cov(win, rowvar=False)) + np.trace(np.cov(win.T, rowvar=False))
    np.testing.assert_allclose(window_covariance_traces(d, 5), expected, rtol=1e-10, atol=1e-12)


def test_cbf_fusion_rule():
    a, b = smooth_pair(24, 30, seed=94)
    d1 = a - _naive_cross_bilateral(a, b, 1.8, 25 / 255, 11)  # IR filtered, guided by VIS
    d2 = b - _naive_cross_bilateral(b, a, 1.8, 25 / 255, 11)
    w1, w2 = window_covariance_traces(d1, 5), window_covariance_traces(d2, 5)
    expected = (a * w1 + b * w2) / (w1 + w2)
    np.testing.assert_allclose(models.create_fuser("cbf").run(a, b), expected, atol=1e-5)


def test_cbf_output_is_a_convex_combination():
    a, b = smooth_pair(40, 50, seed=93)
    out = models.create_fuser("cbf").run(a, b)
    assert np.all(out >= np.minimum(a, b) - 1e-6) and np.all(out <= np.maximum(a, b) + 1e-6)


# ----------------------------------------------------------------- agreement with VIFB's published results
_VIFB_IMAGES = ["carLight", "kettle", "manCall", "snow"]


def _load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def _psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2))


@pytest.mark.parametrize("image", _VIFB_IMAGES)
def test_gff_reproduces_vifb(metric_fixtures_dir, image):
    # VIFB fuses colour images with one set of weights computed from grey levels, so on luma our
    # grey-level GFF must agree up to VIFB's JPEG round trips (~43-50 dB measured; a plain average
    # of the sources scores 15-22 dB against the same reference)
    y = np.array([0.299, 0.587, 0.114])
    ir = _load(metric_fixtures_dir / f"vifb_{image}_ir.jpg") @ y / 255
    vis = _load(metric_fixtures_dir / f"vifb_{image}_vis.jpg") @ y / 255
    ref = _load(metric_fixtures_dir / f"vifb_{image}_GFF.jpg") @ y
    ours = models.create_fuser("gff").run(ir.astype(np.float32), vis.astype(np.float32)) * 255
    assert _psnr(ours, ref) > 42.0


@pytest.mark.parametrize("image", _VIFB_IMAGES)
def test_adf_reproduces_vifb(metric_fixtures_dir, image):
    # VIFB runs ADF per RGB channel; compare the green channel. Measured 40-48 dB; without the
    # diffusion (plain average of bases) 31-41 dB, i.e. at least 6 dB worse on every image.
    c = 1
    ir = _load(metric_fixtures_dir / f"vifb_{image}_ir.jpg")[..., c] / 255
    vis = _load(metric_fixtures_dir / f"vifb_{image}_vis.jpg")[..., c] / 255
    ref = _load(metric_fixtures_dir / f"vifb_{image}_ADF.jpg")[..., c]
    ir, vis = ir.astype(np.float32), vis.astype(np.float32)
    ours = _psnr(np.round(models.create_fuser("adf").run(ir, vis) * 255), ref)
    no_diffusion = _psnr(np.round(models.create_fuser("adf", num_iter=0).run(ir, vis) * 255), ref)
    assert ours > 39.0 and ours > no_diffusion + 4.0, (ours, no_diffusion)
