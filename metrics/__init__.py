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
    per_conv = metrics.compute_many(fused, ir, vis)  # every convention, shared work, same values

Inputs are numpy arrays (uint8 as stored on disk, RGB order, or float on 0-255), H x W or
H x W x 3; a float image in [0, 1] beside a 0-255 one is refused (``MetricInputError``: multiply
it by 255). Reading image files is the caller's job. This package imports only numpy and the
standard-library leaf ``ivif_toolbox`` (joblib is imported lazily by :func:`compute_batch`, torch
lazily by the two metrics whose reference code is PyTorch: ``ivifzoo`` MS-SSIM and VIF, which raise
:class:`TorchRequiredError` without it).
"""
from __future__ import annotations

from ._compute import TripletWork, compute, compute_batch, compute_many
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
from ._describe import describe
from ._table import (
    METRICS,
    Implementation,
    MetricInfo,
    get_metric,
    implementation,
    implements,
    provenance,
    register_metric,
    temporarily,
)
from .conventions import (
    CONVENTIONS,
    DEFAULT_CONVENTION,
    Convention,
    GreyRule,
    get_convention,
    register_convention,
)
# the implementation modules: importing them fills the metric table
from .correlation import cc, scd
from .information import en, mi
from .edge_preservation import qabf
from .spatial import ag, ei, sd, sf
from .ssim import ms_ssim
from .fidelity import viff, vif


def _import_implementation_modules() -> None:
    """Import every public module of the package: a metric or convention added in a new module
    registers itself without any change here."""
    import importlib
    import pkgutil
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


_import_implementation_modules()

__all__ = [
    "en", "sf", "ag", "sd", "cc", "scd", "mi", "vif", "qabf", "ms_ssim", "ei", "viff",
    "compute", "compute_many", "compute_batch", "TripletWork",
    "METRICS", "METRIC_KEYS", "MetricInfo", "get_metric", "provenance", "describe",
    "Implementation", "implementation", "implements", "register_metric", "temporarily",
    "CONVENTIONS", "DEFAULT_CONVENTION", "Convention", "GreyRule",
    "get_convention", "register_convention",
    "MetricInputError", "ImageTooSmallError", "TorchRequiredError", "UnknownMetricError",
    "UnknownConventionError",
    "MetricWarning", "NaNTermReplacedWarning", "UndefinedValueWarning", "UnverifiedPathWarning",
    "InputRangeWarning", "QuantizationWarning",
]


def __getattr__(name: str):
    if name == "METRIC_KEYS":  # derived from the live table (temporary test entries included)
        return tuple(METRICS)
    for info in METRICS.values():  # the function of a metric registered by another module
        if info.name == name:
            return info.fn
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")
