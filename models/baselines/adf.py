"""Anisotropic-diffusion fusion (ADF, Bavirisetti & Dhuli 2016)."""
from __future__ import annotations

import numpy as np

from ..base import Fuser, InputContract
from ..registry import register_fuser
from ._checks import check_int


def anisotropic_diffusion(img: np.ndarray, num_iter: int = 10, delta_t: float = 0.15, kappa: float = 30 / 255,
                          option: int = 1) -> np.ndarray:
    """Perona–Malik diffusion on the 8-neighbourhood, zero boundary (as ``anisodiff2D.m``).

    ``u ← u + Δt · Σ_d (1/|d|²) · c(∇_d u) · ∇_d u`` over the eight neighbour differences
    ``∇_d u = u(p + d) − u(p)`` (pixels outside the image are 0, as with MATLAB ``imfilter``'s
    default padding), with ``c(g) = exp(−(g/κ)²)`` (option 1) or ``1/(1 + (g/κ)²)`` (option 2).
    The flux through each neighbour pair is computed once and used with opposite signs by the two
    pixels, so only four directions are evaluated per iteration.
    """
    if option not in (1, 2):
        raise ValueError(f"anisotropic_diffusion: option must be 1 or 2, got {option!r}")
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"anisotropic_diffusion: expected a 2-D image, got shape {img.shape}")
    h, w = img.shape
    # Flattened zero-padded image (2 zero rows above/below, 1 zero column left/right): the
    # neighbour d = (dy, dx) is the constant flat shift s = dy·stride + dx, so every operation is
    # on contiguous ranges. Rows 2..h+1 hold the image; their pad columns are reset to 0 after
    # every step (zero boundary).
    stride = w + 2
    padded = np.zeros((h + 4, stride), dtype=np.float64)
    padded[2:h + 2, 1:w + 1] = img
    flat = padded.ravel()
    start, n = 2 * stride, h * stride
    inside = np.zeros((h, stride), dtype=np.float64)
    inside[:, 1:w + 1] = 1.0
    inside = inside.ravel()
    neg_inv_k2 = -1.0 / (kappa * kappa)
    shifts = [(1, 1.0), (stride, 1.0), (stride + 1, 0.5), (stride - 1, 0.5)]  # E, S, SE, SW; 1/|d|²
    buf = np.empty(n + stride + 1, dtype=np.float64)
    tmp = np.empty(n + stride + 1, dtype=np.float64)
    update = np.empty(n, dtype=np.float64)
    for _ in range(num_iter):
        update.fill(0.0)
        for s, weight in shifts:
            # flux f(q) = c(u(q+s) − u(q))·(u(q+s) − u(q)) for q = start − s + k, k < n + s
            diff = buf[:n + s]
            np.subtract(flat[start:start + n + s], flat[start - s:start + n], out=diff)
            g = tmp[:n + s]
            np.multiply(diff, diff, out=g)
            if option == 1:
                g *= neg_inv_k2
                np.exp(g, out=g)
            else:
                g *= -neg_inv_k2
                g += 1.0
                np.reciprocal(g, out=g)
            g *= diff
            if weight != 1.0:
                g *= weight
            # pixel p receives +f(p) from its neighbour p+s and −f(p−s) from p−s
            update += g[s:s + n]
            update -= g[:n]
        update *= inside
        update *= delta_t
        flat[start:start + n] += update
    return padded[2:h + 2, 1:w + 1].copy()


def kl_weights(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Karhunen–Loève fusion weights: the principal eigenvector of cov(d1, d2), divided by its sum.

    As ``ADF.m``: eigenvalues in ascending order, the first eigenvector is taken only when its
    eigenvalue is not smaller than the second. Raises :class:`ArithmeticError` when the eigenvector
    sums to zero (equal variances and perfectly negative correlation: the weights are undefined).
    """
    c1, c2 = d1 - d1.mean(), d2 - d2.mean()
    c12 = float(np.vdot(c1, c2))
    scatter = np.array([[float(np.vdot(c1, c1)), c12], [c12, float(np.vdot(c2, c2))]])
    evals, evecs = np.linalg.eigh(scatter)  # ascending, like MATLAB eig on a symmetric matrix
    v = evecs[:, 0] if evals[0] >= evals[1] else evecs[:, 1]
    total = v.sum()
    if abs(total) <= 1e-12 * np.abs(v).sum():
        raise ArithmeticError("adf: Karhunen-Loeve weights are undefined: the principal eigenvector of the "
                              "detail covariance sums to zero (equal variances, perfectly negative correlation)")
    return v / total


@register_fuser(
    "adf", description="anisotropic-diffusion base/detail split; details fused with KL-transform weights",
    reference=("D. P. Bavirisetti and R. Dhuli, \"Fusion of infrared and visible sensor images based on "
               "anisotropic diffusion and Karhunen-Loeve transform,\" IEEE Sensors Journal, vol. 16, no. 1, "
               "pp. 203-209, 2016"),
    tags=("classical",))
class ADFFuser(Fuser):
    """Anisotropic diffusion fusion (Bavirisetti & Dhuli, IEEE Sensors J. 16(1), 2016).

    Base layers ``A_k`` come from Perona–Malik anisotropic diffusion (:func:`anisotropic_diffusion`
    with the authors' defaults: 10 iterations, Δt = 0.15, κ = 30 on the 0–255 scale, i.e. 30/255
    here, exponential conduction; Δt = 0.15 is slightly above the 1/7 that ``anisodiff2D.m``
    recommends for its 8-neighbour scheme, but it is the authors' value), details
    ``D_k = I_k − A_k``. The details are fused with the Karhunen–Loève transform: the principal
    eigenvector ``v`` of the 2×2 covariance of ``(D_1, D_2)`` gives weights ``v / Σv``
    (:func:`kl_weights`); the bases are averaged:
    ``F = (v_1 D_1 + v_2 D_2)/Σv + (A_1 + A_2)/2``.

    Border handling (zero outside the image) follows the authors' ``anisodiff2D.m``. The KL weights
    can be negative when the details are anti-correlated, so the output may leave [0, 1] and is
    clamped. A principal eigenvector whose components sum to zero (equal detail variances with
    perfectly negative correlation) makes the weights undefined and raises an error.
    """

    framework = "NumPy"
    output_policy = "clamp to [0, 1] (KL weights may be negative)"
    contract = InputContract(min_size=1, clamp_output=True)

    def __init__(self, num_iter: int = 10, delta_t: float = 0.15, kappa: float = 30 / 255, option: int = 1):
        if not delta_t > 0:
            raise ValueError(f"adf: delta_t must be > 0, got {delta_t!r}")
        if not kappa > 0:
            raise ValueError(f"adf: kappa must be > 0 (on the [0, 1] scale), got {kappa!r}")
        if option not in (1, 2):
            raise ValueError(f"adf: option must be 1 (exponential) or 2 (rational), got {option!r}")
        self.num_iter = check_int(num_iter, fuser="adf", name="num_iter", minimum=0)
        self.delta_t, self.kappa, self.option = float(delta_t), float(kappa), option

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        sources = [np.asarray(ir, dtype=np.float64), np.asarray(vis_y, dtype=np.float64)]  # ADF(I1=IR, I2=VIS)
        bases = [anisotropic_diffusion(s, self.num_iter, self.delta_t, self.kappa, self.option) for s in sources]
        d1, d2 = (s - b for s, b in zip(sources, bases))
        p = kl_weights(d1, d2)
        return p[0] * d1 + p[1] * d2 + 0.5 * (bases[0] + bases[1])
