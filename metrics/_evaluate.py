"""Glue shared by the metric modules: run a metric's registered implementation on a :class:`Triplet`."""
from __future__ import annotations

import warnings

import numpy as np

from ._errors import UndefinedValueWarning
from ._table import implementation
from ._triplet import Triplet


def run_impl(key: str, t: Triplet, **options) -> float:
    """Evaluate the implementation of ``key`` under ``t``'s convention, with floating-point
    warnings silenced; return a Python float.

    Degenerate inputs (a constant image in a correlation, ...) make the reference code return NaN;
    we return NaN too, with a single :class:`UndefinedValueWarning` instead of numpy's
    ``RuntimeWarning`` spray.
    """
    fn = implementation(key, t.convention).fn
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        value = float(fn(t, **options))
    if np.isnan(value):
        warnings.warn(f"{key} is undefined (NaN) for this input under convention "
                      f"{t.convention.name!r} (typically a constant image); the reference code "
                      f"returns NaN as well", UndefinedValueWarning, stacklevel=3)
    return value


def evaluate(key: str, fused, ir, vis, convention: str, **options) -> float:
    """Validate and prepare the inputs, then evaluate one metric."""
    return run_impl(key, Triplet(fused, ir, vis, convention), **options)
