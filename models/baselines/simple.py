"""Pixel-wise mean and maximum: the two simplest fusion rules (used as sanity baselines)."""
from __future__ import annotations

import numpy as np

from ..base import Fuser
from ..registry import register_fuser


@register_fuser("mean", description="pixel-wise average of IR and VIS Y",
                reference="textbook averaging rule (e.g. VIFB's 'weighted average' with w=0.5)")
class MeanFuser(Fuser):
    """F = w·IR + (1 − w)·VIS_Y (w = 0.5 by default)."""

    output_policy = "none (convex combination stays in [0, 1])"

    def __init__(self, weight: float = 0.5):
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"mean: weight must be in [0, 1], got {weight}")
        self.weight = float(weight)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return self.weight * ir + (1.0 - self.weight) * vis_y


@register_fuser("max", description="pixel-wise maximum of IR and VIS Y",
                reference="textbook choose-max rule")
class MaxFuser(Fuser):
    """F = max(IR, VIS_Y) per pixel."""

    output_policy = "none (maximum of inputs in [0, 1])"

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return np.maximum(ir, vis_y)
