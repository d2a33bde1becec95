"""Discrete-wavelet-transform (DWT) fusion with PyWavelets."""
from __future__ import annotations

import numpy as np
import pywt

from ..base import Fuser, InputContract
from ..registry import register_fuser
from ._checks import check_int
from ._rules import check_rule, select_detail


@register_fuser(
    "dwt", description="DWT (Haar, 4 levels); detail: max-abs with consistency check, approximation: average",
    reference=("H. Li, B. S. Manjunath and S. K. Mitra, \"Multisensor image fusion using the wavelet transform,\" "
               "Graphical Models and Image Processing, vol. 57, no. 3, pp. 235-245, 1995; defaults of the MST "
               "toolbox of Y. Liu, S. Liu and Z. Wang, Information Fusion, vol. 24, pp. 147-164, 2015"),
    tags=("classical",))
class DWTFuser(Fuser):
    """Wavelet-transform fusion (Li, Manjunath & Mitra, 1995).

    Both sources are decomposed with a ``levels``-level 2-D DWT (default: the MST toolbox's
    ``dwt_fuse``: Haar/``db1`` wavelet, periodized borders, 4 levels). Each detail sub-band
    (horizontal, vertical, diagonal, at every level) is combined with ``rule`` — by default Li et
    al.'s 3×3 max-abs activity with majority-filter consistency verification — and the coarsest
    approximation is averaged; the inverse DWT gives the fused image.

    Odd sizes are handled by PyWavelets' periodization mode (the last sample is repeated to an
    even length) and the reconstruction is cropped. Output may leave [0, 1] and is clamped.
    The minimum side is ``2**levels``, the largest size for which PyWavelets accepts ``levels``.
    """

    framework = "NumPy/PyWavelets"
    output_policy = "clamp to [0, 1] (wavelet reconstruction can overshoot)"

    def __init__(self, levels: int = 4, wavelet: str = "db1", rule: str = "consistency"):
        if wavelet not in pywt.wavelist(kind="discrete"):
            raise ValueError(f"dwt: wavelet must be a discrete PyWavelets wavelet name, got {wavelet!r}")
        self.levels = check_int(levels, fuser="dwt", name="levels", minimum=1)
        self.wavelet = wavelet
        self.rule = check_rule(rule, "dwt")
        filter_len = pywt.Wavelet(wavelet).dec_len
        # smallest n with pywt.dwt_max_level(n, filter_len) >= levels
        min_size = 2 ** self.levels * (filter_len - 1)
        self.contract = InputContract(min_size=max(min_size, 2), clamp_output=True)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        kw = dict(wavelet=self.wavelet, mode="periodization", level=self.levels)
        ca = pywt.wavedec2(np.asarray(ir, dtype=np.float64), **kw)
        cb = pywt.wavedec2(np.asarray(vis_y, dtype=np.float64), **kw)
        fused = [0.5 * (ca[0] + cb[0])]
        for bands_a, bands_b in zip(ca[1:], cb[1:]):
            fused.append(tuple(select_detail(x, y, self.rule) for x, y in zip(bands_a, bands_b)))
        out = pywt.waverec2(fused, wavelet=self.wavelet, mode="periodization")
        return out[: ir.shape[0], : ir.shape[1]]
