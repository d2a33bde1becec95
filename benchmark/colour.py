"""Colour handling of the harness, done once for every fuser.

BT.601 full range on [0, 1] (SeAFusion / VIF-Benchmark / OpenCV ``COLOR_BGR2YCrCb`` coefficients):
fusers receive the visible Y channel; the fused Y is recombined with the **visible** Cb/Cr. The
metric-side grey conversions (MATLAB ``rgb2gray``, OpenCV, PIL) belong to :mod:`metrics`.
"""
from __future__ import annotations

import numpy as np


def _check_rgb(rgb: np.ndarray, name: str) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{name} must be H×W×3, got shape {rgb.shape}")


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split float RGB in [0, 1] (H×W×3) into Y, Cb, Cr (each H×W, float32)."""
    _check_rgb(rgb, "rgb")
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 0.564 * (b - y) + 0.5
    cr = 0.713 * (r - y) + 0.5
    return y, cb, cr


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, clamped to [0, 1]; returns H×W×3 float32."""
    if not (y.shape == cb.shape == cr.shape):
        raise ValueError(f"Y {y.shape}, Cb {cb.shape} and Cr {cr.shape} must have the same shape")
    r = y + 1.403 * (cr - 0.5)
    g = y - 0.714 * (cr - 0.5) - 0.344 * (cb - 0.5)
    b = y + 1.773 * (cb - 0.5)
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0).astype(np.float32)


def luma(image: np.ndarray) -> np.ndarray:
    """Y of an RGB image, or the image itself when it is already grey (float32 [0, 1])."""
    if image.ndim == 2:
        return image.astype(np.float32, copy=False)
    return rgb_to_ycbcr(image)[0]


def recombine(fused_y: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Fused Y + the visible image's chroma -> RGB (grey visible: the fused Y as is)."""
    if vis.ndim == 2:
        return np.clip(fused_y, 0.0, 1.0).astype(np.float32)
    _, cb, cr = rgb_to_ycbcr(vis)
    return ycbcr_to_rgb(fused_y.astype(np.float32), cb, cr)


def unit_to_uint8(x: np.ndarray) -> np.ndarray:
    """Float image on [0, 1] -> uint8 on 0..255 with round-half-up (values are clamped to [0, 1] first).

    The harness's conversion of a fused image to the 8-bit PNG it saves. (``metrics`` has its own
    MATLAB ``uint8()`` emulation on 0..255 values, a different operation.)
    """
    return np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
