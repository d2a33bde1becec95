"""Training losses for DMNet's two stages (CDDFuse-style; DMNet's own training code was never released).

* SSIM loss with the semantics of ``kornia.losses.SSIM(11)`` as CDDFuse used it:
  mean(clamp((1 − SSIM map)/2, 0, 1)), 11×11 Gaussian window (σ 1.5), reflect padding, C1 = 0.01²,
  C2 = 0.03², data range 1.
* ``spatial_gradient``: kornia's ``SpatialGradient`` (normalised Sobel, replicate padding), used by
  CDDFuse's optional gradient term.
* ``sobel_magnitude``: |Gx| + |Gy| with zero padding (CDDFuse's ``Sobelxy``), used by the fusion
  gradient loss L1(S(F), max(S(VIS), S(IR))).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["ssim_map", "ssim_loss", "spatial_gradient", "sobel_magnitude", "fusion_intensity_loss",
           "fusion_gradient_loss"]

_SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
_SOBEL_Y = ((1.0, 2.0, 1.0), (0.0, 0.0, 0.0), (-1.0, -2.0, -1.0))


def _gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-x * x / (2 * sigma * sigma))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).to(like.device, like.dtype)


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel SSIM of (B, C, H, W) images in [0, 1] (Gaussian window, reflect 'same' padding)."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ssim_map: expected two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    c = x.shape[1]
    k = _gaussian_window(window, sigma, x).expand(c, 1, window, window)
    pad = window // 2

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t, (pad, pad, pad, pad), mode="reflect"), k, groups=c)

    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x * mu_x
    syy = filt(y * y) - mu_y * mu_y
    sxy = filt(x * y) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2))


def ssim_loss(x: torch.Tensor, y: torch.Tensor, window: int = 11) -> torch.Tensor:
    """mean(clamp((1 − SSIM)/2, 0, 1)): 0 for identical images (old ``kornia.losses.SSIM`` semantics)."""
    return torch.clamp((1.0 - ssim_map(x, y, window)) / 2, 0.0, 1.0).mean()


def _sobel_kernels(like: torch.Tensor) -> torch.Tensor:
    return torch.tensor((_SOBEL_X, _SOBEL_Y), dtype=like.dtype, device=like.device)[:, None]


def spatial_gradient(x: torch.Tensor) -> torch.Tensor:
    """Normalised Sobel (kernels / 8) with replicate padding → (B, C, 2, H, W), as kornia's default."""
    b, c, h, w = x.shape
    k = _sobel_kernels(x) / 8.0
    g = F.conv2d(F.pad(x.reshape(b * c, 1, h, w), (1, 1, 1, 1), mode="replicate"), k)
    return g.reshape(b, c, 2, h, w)


def sobel_magnitude(x: torch.Tensor) -> torch.Tensor:
    """|Gx| + |Gy| of each channel, unnormalised Sobel, zero padding 1 (CDDFuse ``Sobelxy``)."""
    b, c, h, w = x.shape
    g = F.conv2d(x.reshape(b * c, 1, h, w), _sobel_kernels(x), padding=1)
    return g.abs().sum(dim=1).reshape(b, c, h, w)


def fusion_intensity_loss(fused: torch.Tensor, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """L_int = L1(F, max(VIS, IR))."""
    return F.l1_loss(fused, torch.maximum(vis, ir))


def fusion_gradient_loss(fused: torch.Tensor, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """L_grad = L1(S(F), max(S(VIS), S(IR))) with the Sobel magnitude S."""
    return F.l1_loss(sobel_magnitude(fused), torch.maximum(sobel_magnitude(vis), sobel_magnitude(ir)))
