"""Coefficient-combination rules shared by the multi-scale baselines (LP, RP, DWT).

The rules follow the definitions of O. Rockinger's *Image Fusion Toolbox* (``selc.m``), which the
MST toolbox of Liu et al. (2015) and VIFB reuse for their LP, RP and DWT fusers:

* ``"maxabs"`` (``selc`` option 1): per coefficient, keep the one with the larger magnitude
  (ties go to the second image, as in ``(abs(M1) > abs(M2))``).
* ``"consistency"`` (``selc`` option 3, the default of the MST toolbox): the window-based
  activity measure with consistency verification of H. Li, B. S. Manjunath and S. K. Mitra,
  "Multisensor image fusion using the wavelet transform", *Graphical Models and Image
  Processing* 57(3):235–245, 1995 — activity = maximum of ``|c|`` over a 3×3 window, a binary
  decision "image 1 is more active", then a 3×3 majority filter on the decision map.
"""
from __future__ import annotations

import cv2
import numpy as np

RULES = ("consistency", "maxabs")


def check_rule(rule: str, fuser: str) -> str:
    """Validate a detail-selection rule name."""
    if rule not in RULES:
        raise ValueError(f"{fuser}: rule must be one of {RULES}, got {rule!r}")
    return rule


def select_detail(c1: np.ndarray, c2: np.ndarray, rule: str) -> np.ndarray:
    """Combine two same-shaped coefficient arrays with ``rule`` (see module docstring)."""
    if rule == "maxabs":
        return np.where(np.abs(c1) > np.abs(c2), c1, c2)
    # Li et al. (1995), as in Rockinger's selc(..., 3): the magnitudes are symmetrically extended
    # by one sample (the edge sample is not repeated), a 3×3 maximum filter with zero padding is
    # taken on the extended grid, and the decision map is majority-filtered back to the original
    # grid ("valid" 3×3 sum > 4).
    a1 = np.pad(np.abs(c1), 1, mode="reflect")
    a2 = np.pad(np.abs(c2), 1, mode="reflect")
    kernel = np.ones((3, 3), np.uint8)
    a1 = cv2.dilate(a1, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    a2 = cv2.dilate(a2, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    decision = (a1 > a2).astype(np.float32)
    votes = cv2.boxFilter(decision, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    mask = votes[1:-1, 1:-1] > 4.5  # at least 5 of the 9 neighbours prefer image 1
    return np.where(mask, c1, c2)
