"""The decisions of the VIF core that rounding can decide, and deciding them as Octave does.

The clamps of the multi-scale pixel-VIF core (variance < 1e-10, gain < 0) and VIFF's selection of
the source with the smaller gain compare computed local statistics with a threshold. Where the
exact value of a statistic lies within rounding error of the threshold (flat windows, where a
variance is pure cancellation noise; near-equal gains of the two sources; covariances near 0) the
outcome depends on the order of the floating-point operations, and a flipped decision moves VIFF
by up to ~1e-4. Where a local variance is tiny but above the threshold, the gain g = sigma12 /
sigma1^2 is huge and the value of the VID term itself depends on the last bits of the variance.

:func:`metrics.fidelity.vifp_pass` computes the statistics with fast separable filters. For every
pixel it bounds, rigorously (worst-case rounding-error analysis, :func:`bounds`), the difference
between those statistics and the ones Octave's ``filter2`` computes; every decision that the
difference could flip, and every VID term whose value it could move by more than
``VALUE_TOL``, is then recomputed from the statistics Octave computes (:func:`octave_stats`, in the
arithmetic of :mod:`metrics._octave`). The tests are applied in three stages of increasing cost:
tile-wide bounds (:func:`candidates`), per-pixel bounds (:func:`risky`), and exact per-constant
tables for windows whose full-resolution support is constant (:func:`octave_stats`).

Portability: the tests only select pixels; what a selected pixel receives is the Octave
arithmetic of :mod:`metrics._octave` (fixed-order IEEE float64), so the result is the same on every
CPU as long as the bounds hold, which they do by construction.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._octave import filter2_octave_at, filter2_octave_const, fspecial_gaussian_octave
from ._filters import gaussian_factor
from ._matlab import integer_valued

T = 1e-10            # variance threshold and gain regulariser of the core (fidelity._clamped)
U = 2.0 ** -53       # unit roundoff of float64
SAFETY = 2.0         # factor on the first-order bounds (covers second-order terms with margin)
VALUE_TOL = 1e-6     # largest rounding error of one pixel's VID term left to our own arithmetic
_SN_MIN = 2.0        # smallest visual noise sigma_n^2 (VIF; VIFF's 325.125 is less sensitive)
KINDS = ("variance", "sign", "select", "value")


def window_size(s: int) -> int:
    """Window side N of scale s = 1..4: 17, 9, 5, 3."""
    return 2 ** (5 - s) + 1


@lru_cache(maxsize=None)
def _rho(n: int) -> float:
    """Bound, in units of U, on |ours - Octave| / (exact weighted sum) for one 'valid' filtering of
    nonnegative data with the n x n window: Octave's sequential sum of n^2 rounded products
    (n^2 + 1 roundings), our two separable passes of n terms each in any order plus the squared
    input (2n + 1), and the relative difference kappa between the weights outer(g, g) of the
    separable factor and Octave's 2-D window (measured here; about 10 U for n = 17 and 9)."""
    g, h = gaussian_factor(n, n / 5.0), fspecial_gaussian_octave(n, n / 5.0)
    kappa = float(np.max(np.abs(np.outer(g, g) - h) / h)) / U + 1.0
    return n * n + 2 * n + 2 + kappa


@lru_cache(maxsize=None)
def scale_constants(s: int) -> tuple[float, float]:
    """(A, eps) of scale s in units of U: A bounds the rounding of a variance or covariance
    (E[xy] - mu_x mu_y) relative to sqrt(E[x^2] E[y^2]); eps bounds the relative difference between
    our scale-s inputs and Octave's (each decimating filtering adds rho; 0 at scale 1)."""
    eps = sum(_rho(window_size(t)) for t in range(2, s + 1))
    return 3.0 * _rho(window_size(s)) + 4.0, eps


def bounds(s: int, e2: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel bounds (e_var, e_cross) on |ours - Octave| of every variance (stacked like ``e2``:
    refs then dist) and of each reference's covariance with the distorted image (last image).

    ``e2``: local E[x^2]; ``var``: our variances E[x^2] - mu^2. Rounding contributes
    A U sqrt(E[x^2] E[y^2]); the input difference delta (|delta| <= eps U |x|) contributes
    sum w (x - mu_x) delta_y + ... <= eps U (sqrt(var_x E[y^2]) + sqrt(var_y E[x^2])) + O(eps^2),
    which is small in flat windows, where the decisions are made. E[x^2] stands for
    max(E[x^2], mu^2) = E[x^2] + max(-var, 0): the two differ only where products were saturated
    before filtering (Tang 2022's first scale), where mu^2 can be the larger term.
    """
    a, eps = scale_constants(s)
    au, eu = a * U, eps * U
    e2 = np.maximum(e2, 0.0) + np.maximum(-var, 0.0)
    nref = len(e2) - 1
    e_cross = np.sqrt(e2[:nref] * e2[nref])
    if eps == 0.0:  # scale 1: the inputs are the same numbers
        return SAFETY * au * e2, SAFETY * au * e_cross
    vp = np.maximum(var, 0.0) + au * e2  # upper bound of the exact variance
    e_var = SAFETY * ((au + eu * eu) * e2 + 2.0 * eu * np.sqrt(vp * e2))
    e_cross *= au + 2.0 * eu * eu
    e_cross += eu * (np.sqrt(vp[:nref] * e2[nref]) + np.sqrt(vp[nref] * e2[:nref]))
    return e_var, SAFETY * e_cross


def _tile_coefficient(s: int) -> float:
    """c with e_var, e_cross <= c * max E[x^2] over a tile (var <= E[x^2])."""
    a, eps = scale_constants(s)
    return SAFETY * (a + 2.0 * eps + 1.0) * U


def _value_limits(ev: float, ec: float, ed: float) -> tuple[float, float]:
    """(s0, g0): where sigma1^2 >= s0 and 0 <= g <= g0, :func:`_value_error` is <= VALUE_TOL for
    any bounds up to (ev, ec, ed) (variance of the reference, covariance, variance of the distorted
    image). From the bound 1.5 (4U + 6 ev / s1 + (ed + 7 g ec + 2 g^2 ev + 3e-11) / sn) on
    ln(10) * error, valid for s1 >= 2 ev + T; each of the two parts gets half of the budget."""
    budget = VALUE_TOL * math.log(10.0) / 1.5
    s0 = max(2.0 * ev + T, 12.0 * ev / budget)
    r = _SN_MIN * (budget / 2.0 - 4.0 * U) - 3e-11 - ed
    if r <= 0.0:
        return s0, 0.0
    if ev == 0.0:
        return s0, (r / (7.0 * ec) if ec > 0.0 else math.inf)
    return s0, (-7.0 * ec + math.sqrt(49.0 * ec * ec + 8.0 * ev * r)) / (4.0 * ev)


def _surely_below(var: np.ndarray, bound: float, c: float) -> np.ndarray:
    """Variances below the threshold T by more than any bound :func:`bounds` can give them: at most
    ``c * (max E[x^2] + max(-var, 0))`` with ``bound = c * max E[x^2]`` over the tile. Only products
    saturated before filtering (Tang 2022's first scale) make such strongly negative variances; their
    decisions are certain (the variance is clamped, the gain is 0)."""
    return var < T - bound - c * np.maximum(-var, 0.0)


def candidates(s: int, e2, maps, raw, s2_raw, viff_order) -> np.ndarray:
    """Pixels of a tile where a decision might go either way within rounding error, or a VID term
    might be ill-conditioned: a cheap test with tile-wide bounds that selects a superset of the
    pixels :func:`risky` flags. Arguments as returned by ``fidelity._vif_maps`` on the tile.

    The bounds use max E[x^2] over the tile. With saturated products (Tang 2022) mu^2 can exceed
    E[x^2], but only where the variance is negative far beyond any bound (the gain is then surely
    0); wherever a decision is close, mu^2 <= E[x^2] + 1e-10.
    """
    nref = len(raw)
    c = _tile_coefficient(s)
    emax = [c * float(e.max()) for e in e2]
    cand = (s2_raw <= T + emax[nref]) & ~_surely_below(s2_raw, emax[nref], c)
    for k in range(nref):
        s1, s12 = raw[k]
        ec = math.sqrt(emax[k] * emax[nref])
        s0, g0 = _value_limits(emax[k], ec, emax[nref])
        cand |= (s1 < s0) & ~_surely_below(s1, emax[k], c)  # s1 < s0 covers s1 <= T + emax[k]
        cand |= np.abs(s12) <= ec
        cand |= maps[k][0] > g0
    if viff_order is not None:
        # Where sigma1^2 >= 1e6 * bound and |sigma12| >= 1e6 * bound, a gain's relative error is
        # below ~2e-6, so only closer gains can swap; elsewhere every pixel is a candidate.
        for k in range(nref):
            s1, s12 = raw[k]
            cand |= s1 < 1e6 * emax[k]
            cand |= np.abs(s12) < 1e6 * math.sqrt(emax[k] * emax[nref])
        gi, gj = maps[viff_order[0]][0], maps[viff_order[1]][0]
        cand |= np.abs(gi - gj) <= 1e-5 * (np.abs(gi) + np.abs(gj))
    return cand


def _value_error(g, s1, s12, s2, ev, ec, ed, err_g) -> np.ndarray:
    """Bound on |VID_ours - VID_Octave| (sigma_n^2 = 2) of a pixel whose decisions are certain and
    gain g > 0: VID = log10(1 + q), q = g^2 s1 / (sv + sn), sv = max(s2 - g s12, T); first order
    in the bounds, times 1.5."""
    sv = np.maximum(np.maximum(s2, 0.0) - g * s12, T) + _SN_MIN
    q = g * g * s1 / sv
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = 2.0 * err_g / g + ev / (s1 - ev) + (ed + g * ec + np.abs(s12) * err_g) / sv
        err = 1.5 * q / (1.0 + q) * rel / math.log(10.0)
    return np.where(s1 > ev, err, np.inf)  # s1 <= ev: a variance decision is uncertain anyway


def uncertain(s: int, stats, bnds, viff_order, kinds: bool = False):
    """Decisions of the reference code that rounding could flip, per pixel (1-D arrays), and VID
    terms whose rounding error could exceed ``VALUE_TOL``.

    ``stats`` = (mu, e2, ecross) as stacked arrays; ``bnds`` = (e_var, e_cross) as returned by
    :func:`bounds` (0 where a value is known exactly). Flags variances within their bound of the
    threshold, covariances within their bound of 0 (the sign of the gain), ill-conditioned VID terms
    and, for VIFF, gains of the two sources closer than their bounds. With ``kinds``, returns
    (mask, {kind: mask}) for the kinds in ``KINDS``.
    """
    mu, e2, ec = stats
    e_var, e_cross = bnds
    nref = len(ec)
    s2 = e2[nref] - mu[nref] * mu[nref]
    variance = np.abs(s2 - T) <= e_var[nref]
    s2_sure_small = s2 < T - e_var[nref]
    sign = np.zeros_like(variance)
    value = np.zeros_like(variance)
    g_err, gs = [], []
    for k in range(nref):
        s1 = e2[k] - mu[k] * mu[k]
        s12 = ec[k] - mu[k] * mu[nref]
        variance |= np.abs(s1 - T) <= e_var[k]
        sign |= (s1 >= T - e_var[k]) & ~s2_sure_small & (np.abs(s12) <= e_cross[k])
        s1c = np.maximum(s1, 0.0)
        g = s12 / (s1c + T)
        # Octave's gain has a denominator >= max(s1 - e_var, 0) + T
        err = (e_cross[k] + np.abs(g) * e_var[k]) / (np.maximum(s1 - e_var[k], 0.0) + T)
        err += 2.0 * U * np.abs(g)
        sure_zero = (s1 < T - e_var[k]) | s2_sure_small | (s12 < -e_cross[k])
        np.copyto(g, 0.0, where=sure_zero | (g < 0.0))
        np.copyto(err, 0.0, where=sure_zero)
        pos = g > 0.0
        if pos.any():
            value[pos] |= _value_error(g[pos], s1c[pos], s12[pos], s2[pos], e_var[k][pos],
                                       e_cross[k][pos], e_var[nref][pos], err[pos]) > VALUE_TOL
        g_err.append(err)
        gs.append(g)
    select = np.zeros_like(variance)
    if viff_order is not None:
        i, j = viff_order
        select = np.abs(gs[i] - gs[j]) <= g_err[i] + g_err[j]
        # certain zeros on both sides are an exact tie in the reference too (source 2 wins)
        select &= (g_err[i] > 0.0) | (g_err[j] > 0.0)
    mask = variance | sign | select | value
    if kinds:
        return mask, dict(zip(KINDS, (variance, sign, select, value)))
    return mask


def risky(s: int, e2, raw, s2_raw, viff_order, kinds: bool = False):
    """Of candidate pixels (1-D arrays: ``e2`` stacked, ``raw`` and ``s2_raw`` as returned by
    ``fidelity._vif_maps``), those :func:`uncertain` flags with the per-pixel bounds of
    :func:`bounds`. Evaluated once per scale on all candidates."""
    var = np.stack([s1 for s1, _ in raw] + [s2_raw])
    # (mu, e2, ecross) with mu = 0 and the variances / covariances in place of the moments
    stats = (np.zeros_like(e2), var, np.stack([s12 for _, s12 in raw]))
    return uncertain(s, stats, bounds(s, e2, var), viff_order, kinds)


def _dilate_top_left(seed: np.ndarray, n: int) -> np.ndarray:
    """``out[r, c] = any(seed[r-a, c-b] for 0 <= a, b < n)``: cells covered by n x n windows whose
    top-left corners are the true cells of ``seed`` (a boolean maximum over windows)."""
    return _window_extreme(np.pad(seed, ((n - 1, 0), (n - 1, 0))), n, 1, np.maximum)


def _running_extreme(x: np.ndarray, n: int, axis: int, fn) -> np.ndarray:
    """``fn`` (np.minimum / np.maximum) over every window of length n along ``axis`` (-1 or -2,
    'valid'), by doubling: windows of 2, 4, 8, ... then two overlapping power-of-two windows."""
    def cut(a, start, stop):
        return a[..., start:stop] if axis == -1 else a[..., start:stop, :]

    length = x.shape[axis]
    k, m = 1, x
    while 2 * k <= n:  # m[i] = extreme over [i, i + 2k)
        m = fn(cut(m, 0, m.shape[axis] - k), cut(m, k, m.shape[axis]))
        k *= 2
    nout = length - n + 1
    return fn(cut(m, 0, nout), cut(m, n - k, n - k + nout))


def _window_extreme(x: np.ndarray, n: int, step: int, fn) -> np.ndarray:
    """``fn`` (np.minimum or np.maximum) over every n x n 'valid' window of a stack (last two
    axes), keeping every ``step``-th window."""
    v = _running_extreme(x, n, -2, fn)[..., ::step, :]
    return _running_extreme(v, n, -1, fn)[..., ::step]


def octave_stats(imgs1: np.ndarray, flagged: dict, fast: dict, viff_orders: dict, *,
                 fma: bool = False, saturate: bool = False) -> dict:
    """Octave's local statistics (mu, E[x^2], E[ref*dist]) at the flagged pixels of each scale.

    ``imgs1``: full-resolution stack (refs..., dist); ``flagged[s]``: (rows, cols) of flagged
    outputs at scale s; ``fast[s]``: our (mu, e2, ecross) at those pixels; ``viff_orders[s]``:
    the VIFF source order if VIFF is computed at scale s; ``fma``: Octave's BLAS (see
    :mod:`metrics._octave`); ``saturate``: scale-1 products capped at 255 (Tang 2022).

    A window whose full-resolution support is constant has Octave statistics that depend on the
    constant only: they come from per-constant tables (scale inputs follow the constant through
    the chain of decimating filters). With those values known exactly, the pixels are tested
    again; only windows still uncertain are summed tap by tap in Octave's order, with scale-s
    inputs rebuilt exactly where such a window needs them.
    """
    nimg = imgs1.shape[0]
    nref = nimg - 1
    ns = {s: window_size(s) for s in range(1, 5)}
    win = {s: fspecial_gaussian_octave(ns[s], ns[s] / 5.0) for s in range(1, 5)}
    top = max(flagged)
    # min / max of the full-resolution support of every scale-s input (a constant support has
    # min == max), and the exact value of a constant support c at scale s
    base = imgs1
    if integer_valued(imgs1):  # 8-bit levels: compare in uint8 (4x less memory)
        base = imgs1.astype(np.uint8)
    lo, hi = {1: base}, {1: base}
    for s in range(2, top + 1):
        lo[s] = _window_extreme(lo[s - 1], ns[s], 2, np.minimum)
        hi[s] = _window_extreme(hi[s - 1], ns[s], 2, np.maximum)
    dif = {}  # built when needed: 1 where the two references differ, at each scale's support

    def same_refs(s: int, pair: tuple[int, int], r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Whether the two references are identical over each window's full-resolution support
        (then their statistics are identical in any arithmetic)."""
        if not dif:
            dif[1] = (base[pair[0]] != base[pair[1]]).astype(np.uint8)[None]
            for t in range(2, top + 1):
                dif[t] = _window_extreme(dif[t - 1], ns[t], 2, np.maximum)
        return window_extremes(dif[s], np.maximum, r, c, ns[s])[0] == 0

    def window_extremes(x: np.ndarray, fn, r: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
        if r.size * n * n < x[0].size:  # few windows: gather them
            red = np.min if fn is np.minimum else np.max
            return red(sliding_window_view(x, (n, n), axis=(-2, -1))[:, r, c], axis=(-2, -1))
        return _window_extreme(x, n, 1, fn)[:, r, c]

    def chain(s: int, c: np.ndarray) -> np.ndarray:
        for t in range(2, s + 1):
            c = filter2_octave_const(win[t], c, fma=fma)
        return c

    emul_at, out = {}, {}
    for s, (r, c) in flagged.items():
        n = ns[s]
        mu, e2, ec = (np.array(v, dtype=np.float64) for v in fast[s])
        wl = window_extremes(lo[s], np.minimum, r, c, n)
        wh = window_extremes(hi[s], np.maximum, r, c, n)
        flat = wl == wh                                       # per image: constant window
        # its exact value at scale s and statistics, from tables over the few distinct constants
        vals, inv = np.unique(wl[flat], return_inverse=True)
        cv = chain(s, vals.astype(np.float64))
        cap = 255.0 if saturate and s == 1 else np.inf
        mu[flat] = filter2_octave_const(win[s], cv, fma=fma)[inv]
        e2[flat] = filter2_octave_const(win[s], np.minimum(cv * cv, cap), fma=fma)[inv]
        const = np.zeros(wl.shape)
        const[flat] = cv[inv]
        both = flat[:nref] & flat[nref]
        ec[both] = filter2_octave_const(
            win[s], np.minimum(const[:nref] * const[nref], cap)[both], fma=fma)
        e_var, e_cross = bounds(s, e2, e2 - mu * mu)
        e_var[flat] = 0.0
        e_cross[both] = 0.0
        order = viff_orders.get(s)
        emul, kinds = uncertain(s, (mu, e2, ec), (e_var, e_cross), order, kinds=True)
        if kinds["select"].any():  # a selection between identical references does not matter
            emul = kinds["variance"] | kinds["sign"] | kinds["value"] | (
                kinds["select"] & ~same_refs(s, order, r, c))
        emul_at[s] = emul
        out[s] = [mu, e2, ec]
    # exact scale inputs where an uncertain window needs them (constant supports from the chain)
    sizes = {1: imgs1.shape[1:]}
    for s in range(2, top + 1):
        sizes[s] = lo[s].shape[1:]
    need = {s: np.zeros(sizes[s], dtype=bool) for s in range(2, top + 1)}
    for s in range(top, 1, -1):
        if s in emul_at and emul_at[s].any():
            seed = np.zeros(sizes[s], dtype=bool)
            seed[flagged[s][0][emul_at[s]], flagged[s][1][emul_at[s]]] = True
            need[s] |= _dilate_top_left(seed, ns[s])
        if s < top:
            up = need[s + 1] & ~(lo[s + 1] == hi[s + 1]).all(axis=0)
            if up.any():
                seed = np.zeros(sizes[s], dtype=bool)
                qi, qj = np.nonzero(up)
                seed[2 * qi, 2 * qj] = True
                need[s] |= _dilate_top_left(seed, ns[s + 1])
    exact = {1: imgs1}
    for s in range(2, top + 1):
        x = np.full((nimg,) + sizes[s], np.nan)
        if need[s].any():
            flat_all = (lo[s] == hi[s]).all(axis=0) & need[s]
            rf, cf = np.nonzero(flat_all)
            x[:, rf, cf] = chain(s, lo[s][:, rf, cf].astype(np.float64))
            rn, cn = np.nonzero(need[s] & ~flat_all)
            x[:, rn, cn] = filter2_octave_at(win[s], exact[s - 1], rn, cn, step=2, fma=fma)
        exact[s] = x
    for s, (r, c) in flagged.items():
        emul = emul_at[s]
        if emul.any():
            vals = filter2_octave_at(win[s], exact[s], r[emul], c[emul], moments=True, fma=fma,
                                     saturate=saturate and s == 1)
            mu, e2, ec = out[s]
            mu[:, emul] = vals[:nimg]
            e2[:, emul] = vals[nimg:2 * nimg]
            ec[:, emul] = vals[2 * nimg:]
    return {s: (tuple(v), int(emul_at[s].sum())) for s, v in out.items()}
