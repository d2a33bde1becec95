"""Input validation of :mod:`metrics`: shapes, dtypes, NaN/Inf, the 0-255 scale, minimum sizes.

Every public metric validates its (fused, ir, vis) triplet here once; the result is three
:class:`CheckedImage` objects (float64 data plus what the scale checks and the grey rules need).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._errors import ImageTooSmallError, InputRangeWarning, MetricInputError
from ._matlab import integer_valued

__all__ = ["IMAGE_NAMES", "CheckedImage", "check_image", "check_triplet", "check_min_size"]

IMAGE_NAMES = ("fused", "ir", "vis")


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedImage:
    """A validated input image.

    ``data`` is float64, C-contiguous, H x W or H x W x 3, values in [0, 255]; ``integer`` tells
    whether every value is an integer (always true for uint8 input), i.e. whether the image is
    exactly what an 8-bit file would hold; ``dtype``, ``lo`` and ``hi`` are the dtype and the
    value range of the array as given (for the scale checks of :func:`check_triplet`).
    """

    name: str
    data: np.ndarray
    integer: bool
    dtype: np.dtype
    lo: float
    hi: float

    @property
    def unit_scale(self) -> bool:
        """Float data in [0, 1] that is not all zero: [0, 1]-scaled data, by all appearances."""
        return self.dtype.kind == "f" and 0.0 < self.hi <= 1.0

    @property
    def byte_scale(self) -> bool:
        """Integer-typed data, or data above 1: on the 0-255 scale."""
        return self.dtype.kind in "ui" or self.hi > 1.0

    def describe(self) -> str:
        return f"{self.name} ({self.dtype}, min {self.lo:g}, max {self.hi:g})"

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 2 else self.data.shape[2]

    @property
    def hw(self) -> tuple[int, int]:
        return self.data.shape[0], self.data.shape[1]

    def channel(self, k: int) -> "CheckedImage":
        """Channel ``k`` of a colour image (the image itself when it is grey)."""
        if self.data.ndim == 2:
            return self
        return CheckedImage(self.name, np.ascontiguousarray(self.data[:, :, k]), self.integer,
                            self.dtype, self.lo, self.hi)


def check_image(x, name: str) -> CheckedImage:
    """Validate one input image and return it as a :class:`CheckedImage`.

    Accepted: array-likes of dtype uint8 (or another integer type with values in 0-255) or float
    with values in [0, 255], shaped H x W, H x W x 1 or H x W x 3 (RGB order).
    """
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind not in "uif":
        raise MetricInputError(
            f"{name}: unsupported dtype {a.dtype}; expected uint8 or float with values in 0-255")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] != 3:
        hint = " (RGBA? drop the alpha channel)" if a.shape[2] == 4 else ""
        raise MetricInputError(
            f"{name}: expected H x W or H x W x 3 (RGB), got shape {a.shape}{hint}")
    if a.ndim not in (2, 3):
        raise MetricInputError(
            f"{name}: expected a 2-D (H x W) or 3-D (H x W x 3) array, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise MetricInputError(f"{name}: empty image, shape {a.shape}")
    if kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            n_nan = int(np.isnan(a).sum())
            n_inf = int(a.size - finite.sum() - n_nan)
            raise MetricInputError(
                f"{name}: contains {n_nan} NaN and {n_inf} infinite values; metrics need finite "
                f"grey levels in [0, 255]")
    lo, hi = float(a.min()), float(a.max())
    if a.dtype != np.uint8:
        if lo < 0.0 or hi > 255.0:
            hint = ""
            if kind == "f" and lo >= -1.0 and hi <= 1.0:
                hint = "; it looks like [-1, 1] data: map it to [0, 255] first"
            elif kind == "f":
                hint = ("; metrics expect 0-255 grey levels: scale [0, 1] data by 255 and clip to "
                        "[0, 255], as saving an 8-bit image would")
            raise MetricInputError(
                f"{name}: values outside [0, 255] (min {lo:g}, max {hi:g}){hint}")
    data = np.ascontiguousarray(a, dtype=np.float64)
    if kind == "f":
        integer = integer_valued(data)
    else:
        integer = True
    return CheckedImage(name, data, integer, a.dtype, lo, hi)


def check_triplet(fused, ir, vis) -> tuple[CheckedImage, CheckedImage, CheckedImage]:
    """Validate ``fused``, ``ir`` and ``vis`` and check that their sizes and scales agree.

    Scale rule (every metric expects 0-255 grey levels): a float image whose values lie in
    [0, 1] (maximum <= 1, not all zero) next to an image on the 0-255 scale (integer dtype such
    as uint8, or maximum > 1) is refused with a :class:`MetricInputError`: scored as it is, it
    would give silently wrong numbers (a [0, 1] fused image with uint8 sources: EN 1.0, VIFF 0.0).
    An all-zero float image has no scale (0 * 255 = 0) and is accepted; a float image that really
    holds 0-255 levels no brighter than 1 can be passed as uint8. When all images are floats in
    [0, 1] the triplet is scored as given, with an :class:`InputRangeWarning`.
    """
    imgs = tuple(check_image(x, n) for x, n in zip((fused, ir, vis), IMAGE_NAMES))
    if len({im.hw for im in imgs}) != 1:
        desc = ", ".join(f"{im.name} has shape {im.data.shape}" for im in imgs)
        raise MetricInputError(
            f"image sizes differ: {desc}; fused, ir and vis must have the same height and width")
    unit = [im for im in imgs if im.unit_scale]
    byte = [im for im in imgs if im.byte_scale]
    if unit and byte:
        names = " and ".join(im.name for im in unit)
        raise MetricInputError(
            f"images on different scales: {', '.join(im.describe() for im in unit)} "
            f"{'holds' if len(unit) == 1 else 'hold'} float values in [0, 1] while "
            f"{', '.join(im.describe() for im in byte)} {'is' if len(byte) == 1 else 'are'} on "
            f"the 0-255 scale; metrics expect 0-255 grey levels for every image: multiply {names} "
            f"by 255 (round and clip to 0-255, as saving an 8-bit image would), or pass it as "
            f"uint8 if it really holds 0-255 levels no brighter than 1")
    if unit:
        warnings.warn(
            "all three images are float with values <= 1; metrics expect the 0-255 scale: "
            "multiply [0, 1] data by 255", InputRangeWarning, stacklevel=3)
    return imgs  # type: ignore[return-value]


def check_min_size(hw: tuple[int, int], minimum: int, what: str) -> None:
    """Raise :class:`ImageTooSmallError` unless both image sides are >= ``minimum``."""
    if min(hw) < minimum:
        raise ImageTooSmallError(
            f"{what} needs images of at least {minimum} x {minimum} pixels (smaller side >= "
            f"{minimum}), got {hw[0]} x {hw[1]}")
