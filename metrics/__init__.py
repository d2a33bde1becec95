"""Exact, convention-aware no-reference image-fusion metrics.

Twelve metrics - ``EN SF AG SD CC SCD MI VIF Qabf MS-SSIM EI VIFF`` - each reproducing, per
*convention*, the reference implementation whose numbers papers publish (see ``docs/metrics.md``):

* ``tang2023`` (default): Linfeng-Tang/Evaluation-for-Image-Fusion, current MATLAB code;
* ``tang2022``: the same code before 2023 (uint8 saturation: SD about 9, inflated VIF, SF on [0,1]);
* ``vifb``: VIFB (+ MEFB for MS-SSIM and VIFF), per-channel loop, MI in nats;
* ``cddfuse``: MMIF-CDDFuse ``utils/Evaluator.py`` (MI in nats);
* ``ivifzoo``: IVIF_ZOO (MS-SSIM is a sum of two scores, up to 2).

Quick use::

    import metrics
    values = metrics.compute(fused, ir, vis)                       # all 12, tang2023
    values = metrics.compute(fused, ir, vis, ["MI", "VIF"], convention="tang2022")
    metrics.provenance("MI", "cddfuse")    # {'effective_source': 'cddfuse', 'units': 'nats', ...}
    print(metrics.describe(verbose=True))  # the metrics x conventions table

Inputs are numpy arrays (uint8 as stored on disk, RGB order, or float on 0-255), H x W or
H x W x 3; a float image in [0, 1] beside a 0-255 one is refused (``MetricInputError``: multiply
it by 255). Reading image files is the caller's job. This package imports only numpy (joblib is
imported lazily by :func:`compute_batch`, torch lazily by the two metrics whose reference code is
PyTorch: ``ivifzoo`` MS-SSIM and VIF, which raise :class:`TorchRequiredError` without it).
"""
from __future__ import annotations

from ._compute import compute, compute_batch
from ._errors import (
    ImageTooSmallError,
    InputRangeWarning,
    MetricInputError,
    MetricWarning,
    NaNTermReplacedWarning,
    QuantizationWarning,
    TorchRequiredError,
    UndefinedValueWarning,
    UnknownConventionError,
    UnknownMetricError,
    UnverifiedPathWarning,
)
from ._registry import METRIC_KEYS, METRICS, MetricInfo, describe, get_metric, provenance
from .conventions import CONVENTIONS, DEFAULT_CONVENTION, ConventionInfo, get_convention
from .correlation import cc, scd
from .information import en, mi
from .edge_preservation import qabf
from .spatial import ag, ei, sd, sf
from .ssim import ms_ssim
from .fidelity import viff, vif

__all__ = [
    "en", "sf", "ag", "sd", "cc", "scd", "mi", "vif", "qabf", "ms_ssim", "ei", "viff",
    "compute", "compute_batch",
    "METRICS", "METRIC_KEYS", "MetricInfo", "get_metric", "provenance", "describe",
    "CONVENTIONS", "DEFAULT_CONVENTION", "ConventionInfo", "get_convention",
    "MetricInputError", "ImageTooSmallError", "TorchRequiredError", "UnknownMetricError",
    "UnknownConventionError",
    "MetricWarning", "NaNTermReplacedWarning", "UndefinedValueWarning", "UnverifiedPathWarning",
    "InputRangeWarning", "QuantizationWarning",
]
