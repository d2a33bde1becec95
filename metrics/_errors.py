"""Exceptions and warnings raised by :mod:`metrics`.

All input problems are reported with exceptions derived from :class:`ValueError`, so callers that
already catch ``ValueError`` keep working. Numerical behaviour copied from a reference implementation
that would otherwise go unnoticed (a NaN replaced by a constant, an unverified code path) is reported
with a :class:`MetricWarning` subclass; filter them with the standard :mod:`warnings` machinery.
"""
from __future__ import annotations

from ivif_toolbox import UnknownNameError

__all__ = [
    "MetricInputError",
    "ImageTooSmallError",
    "TorchRequiredError",
    "UnknownMetricError",
    "UnknownConventionError",
    "MetricWarning",
    "NaNTermReplacedWarning",
    "UndefinedValueWarning",
    "UnverifiedPathWarning",
    "InputRangeWarning",
    "QuantizationWarning",
]


class MetricInputError(ValueError):
    """An input array is unusable (wrong shape, dtype, range, NaN/Inf ...)."""


class ImageTooSmallError(MetricInputError):
    """The images are smaller than the minimum a metric needs (MS-SSIM levels, VIF windows ...)."""


class TorchRequiredError(MetricInputError, ImportError):
    """PyTorch is needed for this (metric, convention) but cannot be imported.

    IVIF_ZOO's MS-SSIM and VIF (``convention="ivifzoo"``) are PyTorch float32 code, and their
    values depend on torch's own kernels, so they are computed with torch (imported on first use);
    every other metric and convention needs only numpy. The message says what to install
    (``pip install torch``). It is a :class:`MetricInputError` (a ``ValueError``), so callers that
    isolate the metrics a triplet cannot get (as the harness does) record these two as refused and
    keep the others, and an ``ImportError`` for code that handles missing dependencies.
    """


class UnknownMetricError(UnknownNameError):
    """A metric name is not in :data:`metrics.METRICS`; the message suggests the closest names.

    A :class:`ivif_toolbox.UnknownNameError` (so a ``KeyError`` and a ``ValueError``)."""


class UnknownConventionError(UnknownNameError):
    """A convention name is not in :data:`metrics.CONVENTIONS`; the message suggests the closest names.

    A :class:`ivif_toolbox.UnknownNameError` (so a ``KeyError`` and a ``ValueError``)."""


class MetricWarning(UserWarning):
    """Base class of every warning emitted by :mod:`metrics`."""


class NaNTermReplacedWarning(MetricWarning):
    """A reference implementation replaces a NaN by a constant and we reproduce it.

    Emitted by VIF under ``convention="cddfuse"``: CDDFuse's ``Evaluator.VIFF`` returns 1.0 for a
    source whose pixel-VIF is NaN (e.g. a constant source image). The returned value therefore
    contains an invented 1.0 for that source.
    """


class UndefinedValueWarning(MetricWarning):
    """A metric is undefined for this input (e.g. correlation with a constant image) and is NaN."""


class UnverifiedPathWarning(MetricWarning):
    """A code path of a reference implementation was reimplemented but never checked against it."""


class InputRangeWarning(MetricWarning):
    """Float input looks like [0, 1] data although every metric expects the 0-255 scale."""


class QuantizationWarning(MetricWarning):
    """Non-integer float input was rounded to 8-bit grey levels for a histogram-based metric."""
