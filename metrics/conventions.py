"""Metric conventions: which reference code a value reproduces, and how its inputs are prepared.

A *convention* names the reference implementation whose numbers a metric value reproduces
(spec ``metrics.md``, section 1). The convention also decides how the images are prepared before
any formula sees them (section 2): the colour-to-grey rule, the VIFB per-channel loop and the
numeric type. When a convention does not define a metric, a documented fallback formula is
borrowed (section 1.2), but the inputs are still prepared the convention's way.

:class:`Triplet` holds one validated (fused, ir, vis) triplet prepared for one convention and
memoises intermediate results (grey images, filtered moments, VIF maps ...) so that
:func:`metrics.compute` does each piece of work once for all metrics.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from ._errors import UnknownConventionError
from ._matlab import rgb2gray_matlab, rgb2gray_opencv_f32, rgb2gray_pil
from ._validation import CheckedImage, check_triplet

__all__ = ["ConventionInfo", "CONVENTIONS", "DEFAULT_CONVENTION", "get_convention", "Triplet"]


@dataclass(frozen=True)
class ConventionInfo:
    """Description of one convention (one reference implementation)."""

    name: str
    title: str
    source: str
    grey_rule: str
    dtype: str
    description: str
    typical_users: str


CONVENTIONS: Mapping[str, ConventionInfo] = MappingProxyType({
    "tang2023": ConventionInfo(
        name="tang2023",
        title="Tang's evaluation code, current version (project default)",
        source="Linfeng-Tang/Evaluation-for-Image-Fusion@7849642 (same maths at 0e87153): "
               "Evaluation/analysis_Reference.m and the *_evaluation.m files it calls",
        grey_rule="MATLAB rgb2gray on uint8 (0.2989 R + 0.5870 G + 0.1140 B, rounded half away "
                  "from zero)",
        dtype="float64; EN and MI on the uint8 grey image",
        description="float data on the 0-255 scale; MI in bits with the 254/255 joint-histogram "
                    "merge; MS-SSIM is Ma et al.'s MEF-MS-SSIM; EI from VIFB, VIFF from Han/MEFB",
        typical_users="papers citing 'Tang's evaluation code' after 2023",
    ),
    "tang2022": ConventionInfo(
        name="tang2022",
        title="Tang's evaluation code before March 2023",
        source="Linfeng-Tang/Evaluation-for-Image-Fusion@5d6c43a (2022-05-02)",
        grey_rule="as tang2023",
        dtype="uint8 with MATLAB saturation for EN, MI, SD, VIF; [0,1] doubles for SF, CC, SCD, "
              "Qabf; 0-255 doubles for AG and MS-SSIM",
        description="SD saturates (about 9), VIF is inflated by saturated uint8 products at the "
                    "first scale, SF is on the [0,1] scale, Qabf uses MATLAB conv2 order on [0,1]",
        typical_users="SeAFusion, PIAFusion, SwinFusion-era and TC-MoA-style tables",
    ),
    "vifb": ConventionInfo(
        name="vifb",
        title="VIFB benchmark (plus MEFB for MS-SSIM and VIFF)",
        source="xingchenzhang/VIFB@22b2ea9 metrics/*.m; xingchenzhang/MEFB@9e185bf metrics/"
               "metricsVIF.m and MEF-MS-SSIM",
        grey_rule="none up front: every metric is evaluated per RGB channel of the fused image "
                  "and averaged; grey conversion only inside MI (rounded), Qabf (unrounded), "
                  "MEF-MS-SSIM (rounded)",
        dtype="float64",
        description="MI in nats after min-max normalisation; SF on the side-by-side [R|G|B] "
                    "matrix normalised by m*n; Qabf on 255*x; CC, SCD, VIF from tang2023 inside "
                    "the channel loop",
        typical_users="VIFB / MEFB style tables",
    ),
    "cddfuse": ConventionInfo(
        name="cddfuse",
        title="CDDFuse's utils/Evaluator.py (copied by EMMA, DANet and others)",
        source="Zhaozixiang1228/MMIF-CDDFuse@fd8da1f utils/Evaluator.py, utils/img_read_save.py",
        grey_rule="OpenCV cvtColor(BGR2GRAY) on float32, then np.round (half to even)",
        dtype="float32 inputs (formulas evaluated in float64; values agree within 1e-4 relative)",
        description="MI in nats (scikit-learn), AG divided by r*c, VIF (called VIFF there) returns "
                    "1.0 for a NaN term; MS-SSIM from tang2023, EI from VIFB, VIFF from Han/MEFB",
        typical_users="CDDFuse-lineage Python evaluations (CDDFuse, EMMA, DANet, ...)",
    ),
    "ivifzoo": ConventionInfo(
        name="ivifzoo",
        title="IVIF_ZOO survey evaluation (Metric_torch.py, Qabf.py, ssim.py)",
        source="RollingPlain/IVIF_ZOO@61b0a44 Metric/Metric_torch.py, Metric/Qabf.py, "
               "Metric/ssim.py, eval_torch.py",
        grey_rule="PIL convert('L'): (19595 R + 38470 G + 7471 B + 32768) >> 16",
        dtype="float32 tensors / int32 (MI): MS-SSIM and VIF computed by PyTorch float32 "
              "operations as in the reference (machine-dependent, like the reference's own "
              "values), the other formulas in float64 (within 1e-4 relative)",
        description="EN adds 1e-7 inside the log; AG divided by r*c; MI in bits without the "
                    "merge; VIF with zero 'same' padding and an asymmetric window; EI with zero "
                    "padding; MS-SSIM is the sum of two Wang MS-SSIMs with the data-range quirk; "
                    "VIFF from Han/MEFB",
        typical_users="the TPAMI IVIF survey (IVIF_ZOO) and tables with MS-SSIM above 1 "
                      "(e.g. DMNet)",
    ),
})

DEFAULT_CONVENTION = "tang2023"


def get_convention(name: str) -> ConventionInfo:
    """Return the :class:`ConventionInfo` of ``name`` (case-insensitive).

    Raises :class:`UnknownConventionError` (a ``ValueError``) with a "did you mean" suggestion.
    """
    if isinstance(name, str) and name.lower() in CONVENTIONS:
        return CONVENTIONS[name.lower()]
    close = difflib.get_close_matches(str(name).lower(), list(CONVENTIONS), n=3, cutoff=0.4)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownConventionError(
        f"unknown convention {name!r}{hint} (known: {', '.join(CONVENTIONS)})")


class Triplet:
    """One validated (fused, ir, vis) triplet prepared for one convention, with a memo cache.

    ``f``, ``a`` (infrared) and ``b`` (visible) are the validated :class:`CheckedImage` inputs as
    given (grey or RGB). :meth:`grey` returns the convention's grey version of one of them.
    """

    def __init__(self, fused, ir, vis, convention: str = DEFAULT_CONVENTION, *,
                 _checked: tuple[CheckedImage, CheckedImage, CheckedImage] | None = None):
        self.convention = get_convention(convention).name
        self.f, self.a, self.b = _checked if _checked is not None else check_triplet(fused, ir, vis)
        self._cache: dict = {}
        # metric keys the caller will evaluate on this triplet (lets shared passes include them)
        self.requested: frozenset | None = None

    # -- helpers ------------------------------------------------------------------------------
    @property
    def hw(self) -> tuple[int, int]:
        return self.f.hw

    def image(self, which: str) -> CheckedImage:
        return {"fused": self.f, "ir": self.a, "vis": self.b}[which]

    def memo(self, key, fn: Callable):
        """Return ``self._cache[key]``, computing it with ``fn()`` on first use."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = fn()
            return value

    # -- colour to grey (spec section 2) ---------------------------------------------------------
    def grey(self, which: str) -> np.ndarray:
        """The convention's grey image (float64, 0-255) of ``which`` in {"fused", "ir", "vis"}.

        * tang2023 / tang2022 / vifb: MATLAB ``rgb2gray`` on uint8, rounded half away from zero
          (vifb uses it only where VIFB/MEFB convert: MI, MEF-MS-SSIM, and the fallbacks);
        * cddfuse: OpenCV float32 ``cvtColor`` then ``np.round`` (half to even);
        * ivifzoo: PIL ``convert('L')`` fixed-point luma.

        Grey inputs are returned unchanged (every rule maps three equal channels to their value).
        Non-integer float RGB input is converted with the same weights but without the final
        rounding to 8 bits, since only 8-bit files ever reach the reference code.
        """
        return self.memo(("grey", which), lambda: self._grey(self.image(which)))

    def grey_is_integer(self, which: str) -> bool:
        return self.image(which).integer

    def _grey(self, im: CheckedImage) -> np.ndarray:
        if im.channels == 1:
            return im.data
        rgb = im.data
        conv = self.convention
        if conv in ("tang2023", "tang2022", "vifb"):
            return rgb2gray_matlab(rgb, as_uint8=im.integer)
        if conv == "cddfuse":
            g = rgb2gray_opencv_f32(rgb)
            return np.round(g).astype(np.float64) if im.integer else g.astype(np.float64)
        # ivifzoo
        if im.integer:
            return rgb2gray_pil(rgb)
        return (rgb[:, :, 0] * 19595.0 + rgb[:, :, 1] * 38470.0 + rgb[:, :, 2] * 7471.0) / 65536.0

    # -- VIFB channel loop (spec section 5) -------------------------------------------------------
    def vifb_channels(self) -> list["Triplet"]:
        """The per-channel sub-triplets of VIFB's ``compute_metrics`` loop.

        Fused grey: one call on the images as they are. Fused RGB: for channel k, the triplet
        (F_k, IR_k or IR, VIS_k or VIS), a grey source being reused for every channel.
        """
        def build():
            if self.f.channels == 1:
                return [self]
            subs = [Triplet(None, None, None, self.convention,
                            _checked=(self.f.channel(k), self.a.channel(k), self.b.channel(k)))
                    for k in range(3)]
            for sub in subs:
                sub.requested = self.requested
            return subs
        return self.memo("vifb_channels", build)
