"""Pixel-level rules: weighted average (``mean``) and max-absolute (``max``).

These are the "weighted average" and "max-absolute" entries of the classical-baseline list. On
the harness's inputs (intensities in [0, 1], so never negative) the max-absolute rule
``F = x_i`` with ``i = argmax |x_i|`` is the pixel-wise maximum, hence one entry, ``max``.
"""
from __future__ import annotations

import numpy as np

from ..base import Fuser
from ..registry import register_fuser


_ZHANG_BLUM = ("Z. Zhang and R. S. Blum, \"A categorization of multiscale-decomposition-based image fusion "
               "schemes with a performance study for a digital camera application,\" Proceedings of the IEEE, "
               "vol. 87, no. 8, pp. 1315-1326, 1999")


@register_fuser("mean", description="weighted average of IR and VIS Y (w = 0.5 by default)",
                reference="weighted-average combination rule, as categorised in " + _ZHANG_BLUM,
                tags=("classical",))
class MeanFuser(Fuser):
    """Weighted average ``F = w·IR + (1 − w)·VIS_Y`` (``weight`` = w, 0.5 by default).

    The classical weighted-average baseline (see Zhang & Blum, Proc. IEEE 87(8), 1999, for the
    weighted-average and choose-max combination rules); with the default it is the plain mean.
    """

    output_policy = "none (convex combination stays in [0, 1])"

    def __init__(self, weight: float = 0.5):
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"mean: weight must be in [0, 1], got {weight}")
        self.weight = float(weight)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return self.weight * ir + (1.0 - self.weight) * vis_y


@register_fuser("max", description="max-absolute (choose-max) rule; equals the pixel-wise maximum on [0, 1]",
                reference="choose-max (max-absolute) combination rule, as categorised in " + _ZHANG_BLUM,
                tags=("classical",))
class MaxFuser(Fuser):
    """Max-absolute rule: per pixel the input with the larger magnitude, i.e. ``max(IR, VIS_Y)`` on [0, 1].

    Applied to intensities (not to transform coefficients, where ``lp``/``dwt`` use it).
    """

    output_policy = "none (maximum of inputs in [0, 1])"

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return np.maximum(ir, vis_y)
