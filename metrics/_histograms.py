"""Histograms: 8-bit grey levels for indexing, 256-bin and 256 x 256 histograms, entropies."""
from __future__ import annotations

import warnings

import numpy as np

from ._errors import QuantizationWarning
from ._matlab import integer_valued, to_uint8
from ._validation import CheckedImage

__all__ = ["levels", "hist256", "joint_hist256", "entropy"]


def levels(img: CheckedImage | np.ndarray, integer: bool | None = None, what: str = "") -> np.ndarray:
    """Grey levels 0..255 as a ``uint8`` array, for histogram indexing.

    Integer-valued data are used as they are. Non-integer float data are rounded with MATLAB
    ``uint8()`` semantics and a :class:`QuantizationWarning` is emitted.
    """
    if isinstance(img, CheckedImage):
        data, integer = img.data, img.integer
    else:
        data = img
        if integer is None:
            integer = integer_valued(data)
    if not integer:
        warnings.warn(
            f"{what or 'histogram metric'}: non-integer float input rounded to 8-bit grey levels "
            f"(MATLAB uint8 semantics), as the reference code only ever sees 8-bit images",
            QuantizationWarning, stacklevel=3)
        data = to_uint8(data)
    return data.astype(np.uint8)


def hist256(q: np.ndarray) -> np.ndarray:
    """256-bin histogram of grey levels 0..255 (``imhist`` of a uint8 image)."""
    return np.bincount(q.ravel(), minlength=256)


def joint_hist256(a: np.ndarray, b: np.ndarray, top: int = 255) -> np.ndarray:
    """256 x 256 joint histogram ``h[a, b]`` of two grey-level arrays, one ``bincount`` of the
    combined index per block of rows (cache-friendly). Levels above ``top`` are counted as ``top``
    (Tang's MI: ``top=254``, from ``x + 1`` saturating in uint8)."""
    out = np.zeros(65536, dtype=np.int64)
    rows = max(1, (1 << 16) // max(1, a.shape[-1]))
    for i0 in range(0, a.shape[0], rows):  # blocks of rows, not pixels
        ia = a[i0:i0 + rows].astype(np.intp)
        ib = b[i0:i0 + rows].astype(np.intp)
        if top < 255:
            np.minimum(ia, top, out=ia)
            np.minimum(ib, top, out=ib)
        ia *= 256
        ia += ib
        out += np.bincount(ia.ravel(), minlength=65536)
    return out.reshape(256, 256)


def entropy(counts: np.ndarray, base: float = 2.0) -> float:
    """Shannon entropy ``-sum p log p`` of a histogram (empty bins skipped), in log-``base`` units."""
    c = counts[counts > 0].astype(np.float64)
    p = c / c.sum()
    return float(-(p * np.log(p)).sum() / np.log(base))
