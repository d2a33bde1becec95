"""Cross-bilateral-filter fusion (CBF, Shreyamsha Kumar 2015)."""
from __future__ import annotations

import numpy as np

from ..base import Fuser, InputContract
from ..registry import register_fuser
from ._checks import check_int


def cross_bilateral_filter(x: np.ndarray, guide: np.ndarray, sigma_s: float = 1.8, sigma_r: float = 25 / 255,
                           ksize: int = 11) -> np.ndarray:
    """Cross (joint) bilateral filter: spatial Gaussian on offsets, range Gaussian on ``guide``.

    ``y(p) = Σ_o g(o)·r(p, o)·x(p+o) / Σ_o g(o)·r(p, o)`` over the ksize×ksize window, with
    ``g(o) = exp(−|o|²/2σs²)`` and ``r(p, o) = exp(−(guide(p+o) − guide(p))²/2σr²)``; both images
    are extended symmetrically without repeating the edge sample (Kumar's ``per_extn_im_fn``).

    Vectorised by shifted-array accumulation over the window offsets. The range weight of offset
    ``−o`` at ``p`` equals that of ``+o`` at ``p − o``, so the exponentials are evaluated for half
    of the window only.
    """
    if ksize < 1 or ksize % 2 == 0:
        raise ValueError(f"cross_bilateral_filter: ksize must be odd and >= 1, got {ksize!r}")
    x = np.asarray(x, dtype=np.float32)
    guide = np.asarray(guide, dtype=np.float32)
    if x.shape != guide.shape or x.ndim != 2:
        raise ValueError(f"cross_bilateral_filter: x and guide must be equal-shaped 2-D arrays, got {x.shape} "
                         f"and {guide.shape}")
    h, w = x.shape
    r = ksize // 2
    # Work on the flattened padded images, where the window offset (dy, dx) is the constant shift
    # s = dy·stride + dx: every operation below is on contiguous 1-D ranges. Outputs are computed
    # for whole padded rows and the pad columns are dropped at the end; r zeros at both ends keep
    # the shifted ranges of those discarded columns inside the arrays.
    stride = w + 2 * r
    xp = np.pad(np.pad(x, r, mode="reflect").ravel(), r)
    gp = np.pad(np.pad(guide, r, mode="reflect").ravel(), r)
    start, n = r + r * stride, h * stride  # first output sample, number of output samples
    num = xp[start:start + n].copy()      # centre offset: g = r = 1
    den = np.ones(n, dtype=np.float32)
    neg_inv_2sr2 = np.float32(-0.5 / (sigma_r * sigma_r))
    buf = np.empty(n + r * stride + r, dtype=np.float32)
    tmp = np.empty(n, dtype=np.float32)
    half = [(0, dx) for dx in range(1, r + 1)] + [(dy, dx) for dy in range(1, r + 1) for dx in range(-r, r + 1)]
    for dy, dx in half:
        s = dy * stride + dx  # > 0 for the half window
        g = np.float32(np.exp(-(dy * dy + dx * dx) / (2.0 * sigma_s * sigma_s)))
        # wgt[k] = g(o)·r(q, o) for q = start - s + k, k < n + s: covers q = p and q = p - s
        wgt = buf[:n + s]
        np.subtract(gp[start:start + n + s], gp[start - s:start + n], out=wgt)
        np.multiply(wgt, wgt, out=wgt)
        wgt *= neg_inv_2sr2
        np.exp(wgt, out=wgt)
        wgt *= g
        w_plus, w_minus = wgt[s:s + n], wgt[:n]  # weight of +o at p, of −o at p
        np.multiply(w_plus, xp[start + s:start + s + n], out=tmp)
        num += tmp
        np.multiply(w_minus, xp[start - s:start - s + n], out=tmp)
        num += tmp
        den += w_plus
        den += w_minus
    return (num / den).reshape(h, stride)[:, r:r + w]


def window_covariance_traces(d: np.ndarray, wsize: int) -> np.ndarray:
    """Σ of eigenvalues (= trace) of the row- and column-covariance matrices of each wsize² window.

    Kumar's ``cbf_ieeeconf2011f.m`` treats the window's rows as observations for the horizontal
    covariance matrix (its trace = Σ over columns of the unbiased variance of that column) and the
    columns as observations for the vertical one; the weight is the sum of both traces. Windows are
    taken on the symmetrically extended image. Computed with shifted slices (two-pass variances),
    not per pixel.
    """
    h, w = d.shape
    r = wsize // 2
    dp = np.pad(np.asarray(d, dtype=np.float64), r, mode="reflect")
    # variance of every vertical / horizontal run of wsize samples
    runs_v = [dp[k:k + h, :] for k in range(wsize)]
    mean_v = sum(runs_v) / wsize
    col_var = sum((run - mean_v) ** 2 for run in runs_v) / (wsize - 1)     # (h, w + 2r)
    runs_h = [dp[:, k:k + w] for k in range(wsize)]
    mean_h = sum(runs_h) / wsize
    row_var = sum((run - mean_h) ** 2 for run in runs_h) / (wsize - 1)     # (h + 2r, w)
    trace_h = sum(col_var[:, k:k + w] for k in range(wsize))             # Σ over the window's columns
    trace_v = sum(row_var[k:k + h, :] for k in range(wsize))             # Σ over the window's rows
    return trace_h + trace_v


@register_fuser(
    "cbf", description="cross bilateral filter details; pixel weights from detail covariance (edge strength)",
    reference=("B. K. Shreyamsha Kumar, \"Image fusion based on pixel significance using cross bilateral "
               "filter,\" Signal, Image and Video Processing, vol. 9, no. 5, pp. 1193-1204, 2015"),
    tags=("classical",))
class CBFFuser(Fuser):
    """Cross bilateral filter fusion (Shreyamsha Kumar, SIViP 9(5), 2015).

    Details ``D_1 = I_1 − CBF(I_1; guide I_2)`` and ``D_2 = I_2 − CBF(I_2; guide I_1)`` with the
    cross bilateral filter (:func:`cross_bilateral_filter`, the author's defaults: σs = 1.8,
    σr = 25 on the 0–255 scale, i.e. 25/255 here, 11×11 kernel). The weight of each source is
    the sum of the eigenvalues of the horizontal and vertical covariance matrices of its detail
    in a 5×5 window (:func:`window_covariance_traces`); ``F = (w_1 I_1 + w_2 I_2)/(w_1 + w_2)`` — a
    convex combination, so no clamping is needed. Zero weights are replaced by the float64
    machine epsilon (scaled to the [0, 1] range), as in the reference.
    """

    framework = "NumPy"
    output_policy = "none (convex combination of the inputs)"

    def __init__(self, sigma_s: float = 1.8, sigma_r: float = 25 / 255, ksize: int = 11, cov_wsize: int = 5):
        if not sigma_s > 0 or not sigma_r > 0:
            raise ValueError(f"cbf: sigma_s and sigma_r must be > 0, got {sigma_s!r}, {sigma_r!r}")
        self.sigma_s, self.sigma_r = float(sigma_s), float(sigma_r)
        self.ksize = check_int(ksize, fuser="cbf", name="ksize", minimum=3, odd=True)
        self.cov_wsize = check_int(cov_wsize, fuser="cbf", name="cov_wsize", minimum=3, odd=True)
        # symmetric extension by ksize//2 (and cov_wsize//2) samples needs a side longer than that
        self.contract = InputContract(min_size=max(self.ksize, self.cov_wsize) // 2 + 1)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        x1 = np.asarray(ir, dtype=np.float32)      # x{1} = IR, x{2} = VIS in the reference
        x2 = np.asarray(vis_y, dtype=np.float32)
        d1 = x1 - cross_bilateral_filter(x1, x2, self.sigma_s, self.sigma_r, self.ksize)
        d2 = x2 - cross_bilateral_filter(x2, x1, self.sigma_s, self.sigma_r, self.ksize)
        eps = np.finfo(np.float64).eps / 255.0 ** 2
        w1 = window_covariance_traces(d1, self.cov_wsize)
        w2 = window_covariance_traces(d2, self.cov_wsize)
        w1 = np.where(w1 == 0, eps, w1)
        w2 = np.where(w2 == 0, eps, w2)
        return (x1 * w1 + x2 * w2) / (w1 + w2)
