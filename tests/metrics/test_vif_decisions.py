"""VIF / VIFF decisions decided by rounding: adversarial images against GNU Octave and against
exact arithmetic (``metrics._vif_decisions``, ``metrics._octave``).

* ``data/vif_octave_reference.json``: values computed by GNU Octave 7.3 (image package 2.14) on the
  adversarial triplets of ``vif_adversarial.py`` (flat blocks at every grey level, sources equal,
  +-1 or affine images of each other, saturated blocks, mixtures), with the reference BLAS (the
  arithmetic of the project's reference values) and with OpenBLAS (fused multiply-adds), by
  ``octave/record_vif_reference.py`` (provenance in ``data/README.md``). No Octave is needed here.
* The exact tests evaluate the reference formula in exact rational arithmetic (Python integers
  over powers of two: the inputs and Octave's window weights are exact binary fractions) and check
  that every decision the fast path keeps is the exact one, and that every decision whose exact
  margin is within the rounding error of a float64 evaluation is handed to Octave's arithmetic.
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import metrics
import vif_adversarial as va
from metrics import _vif_decisions as D
from metrics._octave import filter2_octave_at, filter2_octave_const, fma64, fspecial_gaussian_octave
from metrics._filters import correlate_valid, gaussian_factor, tiles
from metrics._matlab import rgb2gray_matlab, to_uint8
from metrics.fidelity import _vif_maps, vifp_pass

DATA = Path(__file__).parent / "data" / "vif_octave_reference.json"
BLAS = ("reference", "openblas")
T = Fraction(1e-10)
U = 2.0 ** -53


@pytest.fixture(scope="module")
def octave_ref() -> dict:
    return json.loads(DATA.read_text())


def _triplet(name: str):
    kind, arg = name.split("-", 1)
    return va.block_triplet(int(arg)) if kind == "block" else va.level_triplet(arg)


# ------------------------------------------------------------------------------------------------
# Octave's arithmetic
# ------------------------------------------------------------------------------------------------
def test_fma64_rounds_once():
    """The emulated fused multiply-add equals a*b + c rounded once (exact rational reference), on
    random operands, on grey-level / window-weight operands and on rounding midpoints."""
    r = va.Draws(7)
    n = 3000
    big = r.ints(3 * n, -(1 << 52), 1 << 52).astype(np.float64).reshape(3, n)
    scale = 2.0 ** r.ints(3 * n, -30, 30).reshape(3, n)
    a, b, c = big * 2.0 ** -52 * scale
    w, x = r.ints(n, 1, 1 << 40) * 2.0 ** -50, r.ints(n, 0, 65026).astype(np.float64)
    acc = r.ints(n, 0, 1 << 52) * 2.0 ** -36
    half = np.spacing(acc) / 2 * (1.0 + r.ints(n, -2, 3) * 2.0 ** -40)  # near midpoints
    for a_, b_, c_ in ((a, b, c), (w, x, acc), (half, np.ones(n), acc), (-half, np.ones(n), acc)):
        got = fma64(a_, b_, c_)
        want = [float(Fraction(p) * Fraction(q) + Fraction(s)) for p, q, s in zip(a_, b_, c_)]
        np.testing.assert_array_equal(got, want)
    # without FMA the two roundings differ on some of these operands (the test can fail)
    assert np.any(w * x + acc != fma64(w, x, acc))


@pytest.mark.parametrize("blas", BLAS)
def test_constant_window_statistics_are_octaves(octave_ref, blas):
    """For a window whose support is constant c = 0..255, the scale inputs, mean and E[x^2] at
    every scale are bit for bit those Octave computes (chained filter2 tables, both BLAS)."""
    t = octave_ref["tables"][blas]
    c = np.arange(256.0)
    for s in range(1, 5):
        n = D.window_size(s)
        h = fspecial_gaussian_octave(n, n / 5.0)
        if s > 1:
            c = filter2_octave_const(h, c, fma=blas == "openblas")
        np.testing.assert_array_equal(c, t["X"][s - 1])
        np.testing.assert_array_equal(filter2_octave_const(h, c, fma=blas == "openblas"),
                                      t["MU"][s - 1])
        np.testing.assert_array_equal(filter2_octave_const(h, c * c, fma=blas == "openblas"),
                                      t["E2"][s - 1])


def test_flat_windows_are_decided_by_rounding(octave_ref):
    """Exact arithmetic puts the variance of a constant window below the 1e-10 threshold at every
    grey level (c^2 S (1 - S), S = the exact sum of Octave's float weights), while Octave's float64
    result lands above it at some levels: the decision belongs to the arithmetic, which is why
    constant windows take Octave's own values."""
    h = fspecial_gaussian_octave(17, 3.4)
    total = sum(Fraction(float(v)) for v in h.ravel())
    exact = [Fraction(c * c) * total * (1 - total) for c in range(256)]
    assert all(abs(v) < T for v in exact)
    t = octave_ref["tables"]["reference"]
    var = np.array(t["E2"][0]) - np.array(t["MU"][0]) ** 2
    assert 0 < int(np.sum(var >= 1e-10)) < 256


# ------------------------------------------------------------------------------------------------
# Values against Octave
# ------------------------------------------------------------------------------------------------
def _checked(name: str, blas: str) -> bool:
    """Every recorded triplet with the reference BLAS; a quarter of them, and the equal-sources
    level layout, with OpenBLAS (its emulated fused multiply-adds are slower)."""
    if blas == "reference":
        return True
    return name == "levels-flat-sources" or (name.startswith("block-")
                                             and int(name[6:]) % 4 == 0)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["double", "uint8"])
@pytest.mark.parametrize("blas", BLAS)
def test_adversarial_values_match_octave(octave_ref, variant, blas):
    """Per scale and reference, the VIF sums (and VIFF's selected sums) of the adversarial
    triplets equal Octave's to rounding: every decision is decided as Octave decides it. ``double``:
    0-255 doubles with VIFF in MEFB order (tang2023, vifb); ``uint8``: Tang 2022's saturated first
    scale."""
    failures = []
    for rec in octave_ref["records"]:
        if rec["variant"] != variant or rec["blas"] != blas or not _checked(rec["triplet"], blas):
            continue
        ir, vis, fused = _triplet(rec["triplet"])
        res = vifp_pass([ir, vis], fused, viff_order=(1, 0) if variant == "double" else None,
                        saturate_first_scale=variant == "uint8", octave_fma=blas == "openblas")
        for s, part in enumerate(res["scales"]):
            for key, tol in (("vif_num", 1e-9), ("vif_den", 1e-10)):
                for k in range(2):
                    ref = rec[key][s][k]
                    if abs(part[key][k] - ref) > tol * max(abs(ref), 1.0):
                        failures.append(f"{rec['triplet']} scale {s + 1} {key}[{k}]: "
                                        f"{part[key][k]!r} vs {ref!r}")
            if part["vid"] is not None:  # Octave adds C = 1e-7 per pixel
                for key in ("vid", "vind"):
                    ref = rec[key][s] - 1e-7 * part["pixels"]
                    if abs(part[key] - ref) > 1e-11 * abs(ref):
                        failures.append(f"{rec['triplet']} scale {s + 1} {key}: "
                                        f"{part[key]!r} vs {ref!r}")
        if variant == "double" and abs(res["viff"] - rec["viff"]) > 1e-12 * rec["viff"]:
            failures.append(f"{rec['triplet']} VIFF {res['viff']!r} vs {rec['viff']!r}")
    assert not failures, "\n".join(failures)


def test_adversarial_public_values_match_octave(octave_ref):
    """The public functions give Octave's values on the adversarial triplets: ``viff`` under
    tang2023 and ``vif`` under tang2023 / tang2022 (uint8 images)."""
    recs = {(r["triplet"], r["variant"]): r for r in octave_ref["records"]
            if r["blas"] == "reference"}
    for name in octave_ref["triplets"][::4]:
        ir, vis, fused = (x.astype(np.uint8) for x in _triplet(name))
        rec, rec8 = recs[name, "double"], recs[name, "uint8"]
        assert metrics.viff(fused, ir, vis) == pytest.approx(rec["viff"], rel=1e-12)
        for conv, r in (("tang2023", rec), ("tang2022", rec8)):
            want = sum(sum(np.array(r["vif_num"])[:, k]) / sum(np.array(r["vif_den"])[:, k])
                       for k in range(2))
            assert metrics.vif(fused, ir, vis, convention=conv) == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------------------------------------
# Exact arithmetic
# ------------------------------------------------------------------------------------------------
def _as_int_weights(h: np.ndarray) -> tuple[np.ndarray, int]:
    """(m, K) with h == m / 2**K exactly, m an object array of Python ints."""
    fr = [Fraction(float(v)) for v in h.ravel()]
    k = max(f.denominator.bit_length() - 1 for f in fr)
    return np.array([f.numerator << (k - (f.denominator.bit_length() - 1)) for f in fr],
                    dtype=object).reshape(h.shape), k


def _exact_filter(m: np.ndarray, x: np.ndarray, step: int = 1) -> np.ndarray:
    """Exact 'valid' correlation numerators sum m[i, j] x[r + i, c + j] (object arrays of Python
    ints). Small integer inputs (int64, |x| < 2**17) are summed in int64 with the weights split
    into two 27-bit halves (exact: every partial sum stays below 2**53)."""
    n = m.shape[0]
    rows, cols = (x.shape[0] - n) // step + 1, (x.shape[1] - n) // step + 1
    if x.dtype == np.int64:
        parts = []
        for half in (m.astype(object) >> 27, m.astype(object) & ((1 << 27) - 1)):
            acc = np.zeros((rows, cols), dtype=np.int64)
            for i in range(n):  # loop over the taps, vectorised over outputs
                for j in range(n):
                    acc += int(half[i, j]) * x[i:i + (rows - 1) * step + 1:step,
                                               j:j + (cols - 1) * step + 1:step]
            parts.append(acc.astype(object))
        return (parts[0] << 27) + parts[1]
    out = np.zeros((rows, cols), dtype=object)
    for i in range(n):
        for j in range(n):
            out += m[i, j] * x[i:i + (rows - 1) * step + 1:step, j:j + (cols - 1) * step + 1:step]
    return out


def _exact_core(ir, vis, fused):
    """Per scale: exact (var_ir, var_vis, var_fused, cov_ir, cov_vis) of the pixel-VIF core with
    Octave's window weights, as object arrays of Fractions (inputs decimated exactly)."""
    x = [v.astype(np.int64) for v in (ir, vis, fused)]
    den = 0  # inputs are x / 2**den
    out = []
    for s in range(1, 5):
        n = D.window_size(s)
        m, k = _as_int_weights(fspecial_gaussian_octave(n, n / 5.0))
        if s > 1:
            x = [_exact_filter(m, v, 2) for v in x]
            den += k
        mu = [_exact_filter(m, v) for v in x]                    # / 2**(k + den)
        e2 = [_exact_filter(m, v * v) for v in x]                # / 2**(k + 2 den)
        ec = [_exact_filter(m, v * x[2]) for v in x[:2]]
        q = Fraction(1, 1 << (2 * k + 2 * den))
        var = [(e << k) - u * u for e, u in zip(e2, mu)]         # * q
        cov = [(e << k) - u * mu[2] for e, u in zip(ec, mu[:2])]
        out.append(([np.vectorize(lambda z: z * q, otypes=[object])(v) for v in var + cov]))
    return out


@pytest.mark.parametrize("seed", [3, 11])
def test_fast_decisions_are_exact_and_close_calls_go_to_octave(seed):
    """On adversarial 144 x 144 triplets, at every scale and pixel: (1) every decision the fast
    path keeps (not flagged by the risk test) is the decision of exact arithmetic - variance
    thresholds, clamped gains, VIFF's smaller-gain selection; (2) every variance and covariance
    whose exact value lies within float64 rounding error (any summation order, a bound computed
    here independently) of its threshold is flagged, so Octave's arithmetic decides it."""
    ir, vis, fused = va.block_triplet(seed, nb=2)
    exact = _exact_core(ir, vis, fused)
    imgs = np.stack([ir, vis, fused])
    eps_oct = 0.0  # Octave's input error at scale s relative to exact, in units of U
    flagged_total = 0
    for s in range(1, 5):
        n = D.window_size(s)
        w = gaussian_factor(n, n / 5.0)
        if s > 1:
            imgs = np.ascontiguousarray(correlate_valid(imgs, w, 2))
            eps_oct += n * n + 1
        mu = correlate_valid(imgs, w)
        e2 = correlate_valid(imgs * imgs, w)
        ec = correlate_valid(imgs[:2] * imgs[2], w)
        maps, raw, s2 = _vif_maps(mu, e2, ec)
        flat = [a.ravel() for a in (e2[0], e2[1], e2[2])]
        risky = D.risky(s, np.stack(flat), [(a.ravel(), b.ravel()) for a, b in raw], s2.ravel(),
                        (1, 0)).reshape(s2.shape)
        flagged_total += int(risky.sum())
        v_ir, v_vis, v_f, c_ir, c_vis = exact[s - 1]
        keep = ~risky
        # (1) decisions kept by the fast path are exact
        for ours, ex in ((raw[0][0], v_ir), (raw[1][0], v_vis), (s2, v_f)):
            assert np.array_equal((ours < 1e-10)[keep], (ex < T)[keep]), f"scale {s}"
        gx = []
        for v, c in ((v_ir, c_ir), (v_vis, c_vis)):
            zero = (v < T) | (v_f < T) | (c < 0)
            gx.append(np.where(zero, Fraction(0), c) / (np.where(v > 0, v, Fraction(0)) + T))
        for k in range(2):
            assert np.array_equal((maps[k][0] == 0)[keep], (gx[k] == 0)[keep]), f"scale {s}"
        if s != 2:  # VIFF (MEFB order: source 1 = VIS) selection
            assert np.array_equal((maps[1][0] < maps[0][0])[keep], (gx[1] < gx[0])[keep])
        # (2) exact values within rounding error of a threshold, for any float64 evaluation:
        # rounding (3 n^2 + 6) U max(E[x^2], mu^2), plus Octave's input error (eps_oct U |x|)
        a, e = (3 * n * n + 6) * U, eps_oct * U
        sc = [np.maximum(q, 0) + np.maximum(u * u - q, 0) for q, u in zip(e2, mu)]
        vp = [np.maximum(v.astype(float), 0) for v in (v_ir, v_vis, v_f)]
        for ex, q, v in zip((v_ir, v_vis, v_f), sc, vp):
            close = np.abs(ex - T) <= a * q + 2 * e * np.sqrt(v * q) + e * e * q
            assert not np.any(close & ~risky), f"scale {s}: close variance call not flagged"
        for k, ex in enumerate((c_ir, c_vis)):
            bound = ((a + 2 * e * e) * np.sqrt(sc[k] * sc[2])
                     + e * (np.sqrt(vp[k] * sc[2]) + np.sqrt(vp[2] * sc[k])))
            close = (np.abs(ex) <= bound) & (vp[k] >= 1e-10) & (vp[2] >= 1e-10)
            assert not np.any(close & ~risky), f"scale {s}: close covariance call not flagged"
    assert flagged_total > 0  # the triplets do contain close calls


# ------------------------------------------------------------------------------------------------
# Bounds and the tile-wide pre-selection
# ------------------------------------------------------------------------------------------------
def _octave_order_stats(imgs: np.ndarray, s: int, fma: bool):
    """Octave's (mu, e2, ec) at every output of scale s, with Octave's scale-s inputs."""
    for t in range(2, s + 1):
        n = D.window_size(t)
        h = fspecial_gaussian_octave(n, n / 5.0)
        r, c = np.mgrid[0:(imgs.shape[1] - n) // 2 + 1, 0:(imgs.shape[2] - n) // 2 + 1]
        imgs = filter2_octave_at(h, imgs, r.ravel(), c.ravel(), 2, fma=fma).reshape(
            (3,) + r.shape)
    n = D.window_size(s)
    h = fspecial_gaussian_octave(n, n / 5.0)
    r, c = np.mgrid[0:imgs.shape[1] - n + 1, 0:imgs.shape[2] - n + 1]
    v = filter2_octave_at(h, imgs, r.ravel(), c.ravel(), moments=True, fma=fma)
    v = v.reshape((-1,) + r.shape)
    return v[:3], v[3:6], v[6:]


@pytest.mark.parametrize("fma", [False, True])
def test_rounding_bounds_cover_octaves_arithmetic(fma):
    """|fast - Octave| of every local variance and covariance is within the bounds of
    ``_vif_decisions.bounds``, at all four scales, on adversarial and smooth images."""
    trip = [va.block_triplet(5, nb=2)]
    yy, xx = np.mgrid[0:144, 0:144]
    trip.append(tuple(np.floor(127.5 + 127.4 * np.sin(xx / p + yy / q) + 0.5)
                      for p, q in ((9.0, 13.0), (7.0, 29.0), (17.0, 5.0))))
    for ir, vis, fused in trip:
        imgs = np.stack([ir, vis, fused])
        fast = imgs
        for s in range(1, 5):
            n = D.window_size(s)
            w = gaussian_factor(n, n / 5.0)
            if s > 1:
                fast = np.ascontiguousarray(correlate_valid(fast, w, 2))
            mu, e2 = correlate_valid(fast, w), correlate_valid(fast * fast, w)
            ec = correlate_valid(fast[:2] * fast[2], w)
            mo, e2o, eco = _octave_order_stats(imgs, s, fma)
            var, var_o = e2 - mu * mu, e2o - mo * mo
            cov, cov_o = ec - mu[:2] * mu[2], eco - mo[:2] * mo[2]
            e_var, e_cross = D.bounds(s, e2, var)
            assert np.all(np.abs(var - var_o) <= e_var), f"scale {s}"
            assert np.all(np.abs(cov - cov_o) <= e_cross), f"scale {s}"


@pytest.mark.parametrize("saturate", [False, True])
def test_tile_candidates_contain_every_risky_pixel(saturate):
    """The tile-wide pre-selection keeps every pixel the per-pixel test flags, tile by tile (also
    with Tang 2022's first-scale products capped at 255)."""
    for seed in range(6):
        ir, vis, fused = va.block_triplet(seed)
        imgs = np.stack([ir, vis, fused])
        for s in range(1, 5):
            n = D.window_size(s)
            w = gaussian_factor(n, n / 5.0)
            if s > 1:
                imgs = np.ascontiguousarray(correlate_valid(imgs, w, 2))
            cap = 255.0 if saturate and s == 1 else np.inf
            mu = correlate_valid(imgs, w)
            e2 = correlate_valid(np.minimum(imgs * imgs, cap), w)
            ec = correlate_valid(np.minimum(imgs[:2] * imgs[2], cap), w)
            for i0, i1, j0, j1 in tiles(*mu.shape[1:], n - 1):
                sl = np.s_[:, i0:i1, j0:j1]
                maps, raw, s2 = _vif_maps(mu[sl], e2[sl], ec[sl])
                order = (1, 0) if s != 2 else None
                cand = D.candidates(s, e2[sl], maps, raw, s2, order)
                risky = D.risky(s, e2[sl].reshape(3, -1),
                                [(a.ravel(), b.ravel()) for a, b in raw], s2.ravel(),
                                order).reshape(s2.shape)
                assert not np.any(risky & ~cand), (seed, s)


# ------------------------------------------------------------------------------------------------
# The reference's two arithmetics on a real pair
# ------------------------------------------------------------------------------------------------
def test_both_octave_arithmetics_on_roadscene(octave_ref, shared_dir):
    """On RoadScene pairs where Octave's value depends on its BLAS (a variance within rounding of
    1e-10 at scale 4 of FLIR_05514 decides VIFF's selection: 2.5e-5 relative between reference
    BLAS and OpenBLAS), both values are reproduced."""
    recs = octave_ref.get("roadscene")
    root = shared_dir / "datasets-full" / "RoadScene"
    if not recs or not root.is_dir():
        pytest.skip("needs ../shared/datasets-full/RoadScene")
    from PIL import Image
    moved = 0.0
    for rec in recs:
        ir = np.asarray(Image.open(root / "cropinfrared" / rec["pair"])).astype(np.float64)
        vis = rgb2gray_matlab(np.asarray(Image.open(root / "crop_LR_visible" / rec["pair"]))
                              .astype(np.float64))
        fused = to_uint8(0.5 * ir + 0.5 * vis)
        for blas in BLAS:
            res = vifp_pass([ir, vis], fused, viff_order=(1, 0), octave_fma=blas == "openblas")
            assert res["viff"] == pytest.approx(rec["viff"][blas], rel=1e-12)
        moved = max(moved, abs(rec["viff"]["openblas"] / rec["viff"]["reference"] - 1))
    assert moved > 1e-6
