"""Metric conventions as data: which reference code a value reproduces, and how its inputs are prepared.

A *convention* names the reference implementation whose numbers a metric value reproduces. It also
decides how the images are prepared before any formula sees them: the colour-to-grey rule
(:class:`GreyRule`), VIFB's per-channel loop, the [0, 1] scale and uint8 saturation of Tang's 2022
code, the arithmetic in which rounding-decided VIF decisions are taken, CDDFuse's NaN replacement.
Those facts are attributes of the :class:`Convention` object; the metric implementations ask it and
never compare convention names. Which formula a metric uses under a convention (its own reference
code, or a documented fallback borrowed from another one) is the implementation table of
:mod:`metrics._table`, registered next to each implementation.

This module is the single home of the conventions: :func:`register_convention` adds one (also
temporarily, for tests: ``CONVENTION_REGISTRY.temporarily(name, convention)``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np

from ivif_toolbox import Registry, UnknownNameError

from ._errors import UnknownConventionError
from ._matlab import PIL_GREY_WEIGHTS, rgb2gray_matlab, rgb2gray_opencv_f32, rgb2gray_pil

__all__ = ["GreyRule", "Convention", "CONVENTIONS", "CONVENTION_REGISTRY",
           "DEFAULT_CONVENTION", "get_convention", "register_convention", "reference_of"]

DEFAULT_CONVENTION = "tang2023"


@dataclass(frozen=True)
class GreyRule:
    """A colour-to-grey rule: ``convert(rgb, integer)`` maps an H x W x 3 float64 array on 0-255
    to a float64 grey image; ``integer`` tells whether the RGB data are 8-bit levels (the rule then
    rounds as its library does; non-integer data are converted with the same weights, unrounded,
    since only 8-bit files ever reach the reference code). Every rule maps three equal channels to
    their value, so grey inputs are never converted."""

    name: str
    description: str
    convert: Callable[[np.ndarray, bool], np.ndarray] = field(repr=False, compare=False)


def _opencv_rounded(rgb: np.ndarray, integer: bool) -> np.ndarray:
    g = rgb2gray_opencv_f32(rgb)
    return np.round(g).astype(np.float64) if integer else g.astype(np.float64)


def _pil_luma(rgb: np.ndarray, integer: bool) -> np.ndarray:
    if integer:
        return rgb2gray_pil(rgb)
    wr, wg, wb = (float(w) for w in PIL_GREY_WEIGHTS)
    return (rgb[:, :, 0] * wr + rgb[:, :, 1] * wg + rgb[:, :, 2] * wb) / 65536.0


MATLAB_RGB2GRAY = GreyRule(
    "matlab-rgb2gray",
    "MATLAB rgb2gray on uint8 (0.2989 R + 0.5870 G + 0.1140 B, rounded half away from zero)",
    lambda rgb, integer: rgb2gray_matlab(rgb, as_uint8=integer))
OPENCV_F32_ROUNDED = GreyRule(
    "opencv-f32-rounded",
    "OpenCV cvtColor(BGR2GRAY) on float32, then np.round (half to even)",
    _opencv_rounded)
PIL_L = GreyRule(
    "pil-L",
    "PIL convert('L'): (19595 R + 38470 G + 7471 B + 32768) >> 16",
    _pil_luma)


@dataclass(frozen=True)
class Convention:
    """One convention (one reference implementation) and the input-preparation facts it implies.

    Description: ``name``, ``reference`` (``owner/repo@commit``), ``title``, ``source`` (files),
    ``dtype``, ``description``, ``typical_users``. Quirks (asked by the implementations):

    * ``grey``: the :class:`GreyRule` of the convention's grey images (``grey_note`` overrides its
      description where the convention converts only inside some metrics);
    * ``channel_loop``: VIFB's ``compute_metrics`` loop: per RGB channel of the fused image, then
      averaged (:meth:`metrics._triplet.Triplet.channels`);
    * ``unit_scale``: the reference passes ``im2double`` data ([0, 1]) to SF and Qabf (Tang 2022);
    * ``uint8_saturation``: SD and VIF see uint8 data with MATLAB's saturating arithmetic (Tang 2022);
    * ``octave_arithmetic``: the reference is MATLAB/Octave code, so VIF decisions that rounding
      decides are taken in Octave's summation order (:mod:`metrics._vif_decisions`);
    * ``nan_vif_term``: the value the reference substitutes for a NaN pixel-VIF term (CDDFuse: 1.0),
      or None.
    """

    name: str
    reference: str
    title: str
    source: str
    dtype: str
    description: str
    typical_users: str
    grey: GreyRule
    grey_note: str | None = None
    channel_loop: bool = False
    unit_scale: bool = False
    uint8_saturation: bool = False
    octave_arithmetic: bool = True
    nan_vif_term: float | None = None

    @property
    def grey_rule(self) -> str:
        """The grey rule in words (for :func:`metrics.describe`)."""
        return self.grey_note or self.grey.description



CONVENTION_REGISTRY: Registry[Convention] = Registry("convention")

# Reference code that is not itself a convention but lends formulas to conventions (MEFB).
_OTHER_SOURCES = {"mefb": "xingchenzhang/MEFB@9e185bf"}


def register_convention(conv: Convention) -> Convention:
    """Add ``conv`` to the table (an error if its name is taken)."""
    return CONVENTION_REGISTRY.add(conv.name, conv)


def get_convention(name: "str | Convention") -> Convention:
    """Return the :class:`Convention` of ``name`` (case-insensitive; a Convention is returned as is).

    Raises :class:`UnknownConventionError` (a ``ValueError``) with a "did you mean" suggestion.
    """
    if isinstance(name, Convention):
        return name
    try:
        return CONVENTION_REGISTRY.get(name)
    except UnknownNameError as exc:
        raise UnknownConventionError("convention", str(name), exc.known) from None


def reference_of(source: str) -> str:
    """``owner/repo@commit`` of a convention or of another source of borrowed formulas (``mefb``)."""
    if source in _OTHER_SOURCES:
        return _OTHER_SOURCES[source]
    return get_convention(source).reference


class _ConventionsView(Mapping):
    """Read-only live view ``{name: Convention}`` of the registry, in registration order."""

    def __getitem__(self, name: str) -> Convention:
        if name not in CONVENTION_REGISTRY:
            raise KeyError(name)
        return CONVENTION_REGISTRY.get(name)

    def __iter__(self) -> Iterator[str]:
        return (c.name for _, c in CONVENTION_REGISTRY.items())

    def __len__(self) -> int:
        return len(CONVENTION_REGISTRY)

    def __repr__(self) -> str:
        return f"CONVENTIONS({', '.join(self)})"


CONVENTIONS: Mapping[str, Convention] = _ConventionsView()


register_convention(Convention(
    name="tang2023",
    reference="Linfeng-Tang/Evaluation-for-Image-Fusion@7849642",
    title="Tang's evaluation code, current version (project default)",
    source="Linfeng-Tang/Evaluation-for-Image-Fusion@7849642 (same maths at 0e87153): "
           "Evaluation/analysis_Reference.m and the *_evaluation.m files it calls",
    dtype="float64; EN and MI on the uint8 grey image",
    description="float data on the 0-255 scale; MI in bits with the 254/255 joint-histogram "
                "merge; MS-SSIM is Ma et al.'s MEF-MS-SSIM; EI from VIFB, VIFF from Han/MEFB",
    typical_users="papers citing 'Tang's evaluation code' after 2023",
    grey=MATLAB_RGB2GRAY,
))

register_convention(Convention(
    name="tang2022",
    reference="Linfeng-Tang/Evaluation-for-Image-Fusion@5d6c43a",
    title="Tang's evaluation code before March 2023",
    source="Linfeng-Tang/Evaluation-for-Image-Fusion@5d6c43a (2022-05-02)",
    dtype="uint8 with MATLAB saturation for EN, MI, SD, VIF; [0,1] doubles for SF, CC, SCD, "
          "Qabf; 0-255 doubles for AG and MS-SSIM",
    description="SD saturates (about 9), VIF is inflated by saturated uint8 products at the "
                "first scale, SF is on the [0,1] scale, Qabf uses MATLAB conv2 order on [0,1]",
    typical_users="SeAFusion, PIAFusion, SwinFusion-era and TC-MoA-style tables",
    grey=MATLAB_RGB2GRAY,
    unit_scale=True,
    uint8_saturation=True,
))

register_convention(Convention(
    name="vifb",
    reference="xingchenzhang/VIFB@22b2ea9",
    title="VIFB benchmark (plus MEFB for MS-SSIM and VIFF)",
    source="xingchenzhang/VIFB@22b2ea9 metrics/*.m; xingchenzhang/MEFB@9e185bf metrics/"
           "metricsVIF.m and MEF-MS-SSIM",
    dtype="float64",
    description="MI in nats after min-max normalisation; SF on the side-by-side [R|G|B] "
                "matrix normalised by m*n; Qabf on 255*x; CC, SCD, VIF from tang2023 inside "
                "the channel loop",
    typical_users="VIFB / MEFB style tables",
    grey=MATLAB_RGB2GRAY,
    grey_note="none up front: every metric is evaluated per RGB channel of the fused image "
              "and averaged; grey conversion only inside MI (rounded), Qabf (unrounded), "
              "MEF-MS-SSIM (rounded)",
    channel_loop=True,
))

register_convention(Convention(
    name="cddfuse",
    reference="Zhaozixiang1228/MMIF-CDDFuse@fd8da1f",
    title="CDDFuse's utils/Evaluator.py (copied by EMMA, DANet and others)",
    source="Zhaozixiang1228/MMIF-CDDFuse@fd8da1f utils/Evaluator.py, utils/img_read_save.py",
    dtype="float32 inputs (formulas evaluated in float64; values agree within 1e-4 relative)",
    description="MI in nats (scikit-learn), AG divided by r*c, VIF (called VIFF there) returns "
                "1.0 for a NaN term; MS-SSIM from tang2023, EI from VIFB, VIFF from Han/MEFB",
    typical_users="CDDFuse-lineage Python evaluations (CDDFuse, EMMA, DANet, ...)",
    grey=OPENCV_F32_ROUNDED,
    octave_arithmetic=False,
    nan_vif_term=1.0,
))

register_convention(Convention(
    name="ivifzoo",
    reference="RollingPlain/IVIF_ZOO@61b0a44",
    title="IVIF_ZOO survey evaluation (Metric_torch.py, Qabf.py, ssim.py)",
    source="RollingPlain/IVIF_ZOO@61b0a44 Metric/Metric_torch.py, Metric/Qabf.py, "
           "Metric/ssim.py, eval_torch.py",
    dtype="float32 tensors / int32 (MI): MS-SSIM and VIF computed by PyTorch float32 "
          "operations as in the reference (machine-dependent, like the reference's own "
          "values), the other formulas in float64 (within 1e-4 relative)",
    description="EN adds 1e-7 inside the log; AG divided by r*c; MI in bits without the "
                "merge; VIF with zero 'same' padding and an asymmetric window; EI with zero "
                "padding; MS-SSIM is the sum of two Wang MS-SSIMs with the data-range quirk; "
                "VIFF from Han/MEFB",
    typical_users="the TPAMI IVIF survey (IVIF_ZOO) and tables with MS-SSIM above 1 "
                  "(e.g. DMNet)",
    grey=PIL_L,
    octave_arithmetic=False,
))
