"""RED's training loss: L = w_int·L_int + w_grad·L_grad + w_ssim·L_SSIM.

The paper (Xu et al., arXiv 2601.20260, §3.4) names the loss types, SSIM + L1 + Sobel max-gradient,
but not their exact form or weights. Form and weights follow the group's earlier fusion code
(Dream-IF, ``MaxPixelLoss`` / ``MaxGradLoss``); they are the project's choices, not the paper's:

* L_int = ‖F − max(VIS, IR)‖₁ (mean), weight 1;
* L_grad = ‖G(F) − G_max‖₁, weight 3, with the signed operator G(I) = K_x∗I + K_y∗I (zero padding)
  and G_max the source response of larger magnitude per pixel (ties → VIS); ``operator="sobel"``
  switches to |S_x∗I| + |S_y∗I| with G_max = max(G(VIS), G(IR)) (CDDFuse);
* L_SSIM = ((1 − SSIM(F, VIS)) + (1 − SSIM(F, IR)))/2, weight 0.5; Gaussian window 11×11, σ = 1.5,
  no padding (valid windows), C1 = 0.01², C2 = 0.03² for data range 1.

The losses are evaluated in float32 even under autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GRAD_OPERATORS = ("dreamif", "sobel")

_KX = [[-0.2, 0.0, 0.2], [-1.0, 0.0, 1.0], [-0.2, 0.0, 0.2]]
_KY = [[0.2, 1.0, 0.2], [0.0, 0.0, 0.0], [-0.2, -1.0, -0.2]]
_SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
_SOBEL_Y = [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]


def _conv(x: Tensor, k: list[list[float]]) -> Tensor:
    w = torch.tensor(k, dtype=x.dtype, device=x.device).view(1, 1, 3, 3)
    return F.conv2d(x, w, padding=1)


def gradient_response(x: Tensor, operator: str = "dreamif") -> Tensor:
    """G(I) per pixel for (B,1,H,W) images: signed K_x∗I + K_y∗I ("dreamif") or |S_x∗I| + |S_y∗I| ("sobel")."""
    if operator == "dreamif":
        return _conv(x, _KX) + _conv(x, _KY)
    if operator == "sobel":
        return _conv(x, _SOBEL_X).abs() + _conv(x, _SOBEL_Y).abs()
    raise ValueError(f"gradient operator must be one of {GRAD_OPERATORS}, got {operator!r}")


def max_gradient_target(ir: Tensor, vis: Tensor, operator: str = "dreamif") -> Tensor:
    """G_max: per pixel the source response of larger magnitude (ties -> VIS)."""
    g_ir, g_vis = gradient_response(ir, operator), gradient_response(vis, operator)
    return torch.where(g_ir.abs() > g_vis.abs(), g_ir, g_vis)


def _gaussian_window(size: int, sigma: float, dtype, device) -> Tensor:
    r = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(r ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim(x: Tensor, y: Tensor, window: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> Tensor:
    """Mean SSIM (Wang et al. 2004) of (B,1,H,W) images over valid Gaussian windows."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ssim: expected two (B,C,H,W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < window:
        raise ValueError(f"ssim: images must be at least {window}×{window}, got {tuple(x.shape[-2:])}")
    c = x.shape[1]
    w = _gaussian_window(window, sigma, x.dtype, x.device).expand(c, 1, window, window)

    def filt(t: Tensor) -> Tensor:
        return F.conv2d(t, w, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = filt(x), filt(y)
    sxx = filt(x * x) - mx * mx
    syy = filt(y * y) - my * my
    sxy = filt(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean()


class FusionLoss(nn.Module):
    """``forward(fused, ir, vis)`` -> {"loss", "l1", "grad", "ssim"} (parts detached)."""

    def __init__(self, w_int: float = 1.0, w_grad: float = 3.0, w_ssim: float = 0.5, operator: str = "dreamif",
                 ssim_window: int = 11):
        super().__init__()
        if operator not in GRAD_OPERATORS:
            raise ValueError(f"gradient operator must be one of {GRAD_OPERATORS}, got {operator!r}")
        for name, v in (("w_int", w_int), ("w_grad", w_grad), ("w_ssim", w_ssim)):
            if v < 0:
                raise ValueError(f"loss weight {name} must be >= 0, got {v}")
        self.w_int, self.w_grad, self.w_ssim = float(w_int), float(w_grad), float(w_ssim)
        self.operator = operator
        self.ssim_window = int(ssim_window)

    def forward(self, fused: Tensor, ir: Tensor, vis: Tensor) -> dict[str, Tensor]:
        with torch.autocast(device_type=fused.device.type, enabled=False):
            fused, ir, vis = fused.float(), ir.float(), vis.float()
            l_int = (fused - torch.maximum(ir, vis)).abs().mean()
            l_grad = (gradient_response(fused, self.operator)
                      - max_gradient_target(ir, vis, self.operator)).abs().mean()
            l_ssim = ((1 - ssim(fused, vis, self.ssim_window)) + (1 - ssim(fused, ir, self.ssim_window))) / 2
            total = self.w_int * l_int + self.w_grad * l_grad + self.w_ssim * l_ssim
        return {"loss": total, "l1": l_int.detach(), "grad": l_grad.detach(), "ssim": l_ssim.detach()}
