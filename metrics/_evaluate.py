"""Glue shared by the metric modules: run one implementation on a prepared :class:`Triplet`."""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from ._errors import UndefinedValueWarning
from .conventions import Triplet

Impl = Callable[[Triplet], float]


def run_impl(key: str, impl: Impl, t: Triplet) -> float:
    """Evaluate ``impl`` on ``t`` with floating-point warnings silenced; return a Python float.

    Degenerate inputs (a constant image in a correlation, ...) make the reference code return NaN;
    we return NaN too, with a single :class:`UndefinedValueWarning` instead of numpy's
    ``RuntimeWarning`` spray.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        value = float(impl(t))
    if np.isnan(value):
        warnings.warn(f"{key} is undefined (NaN) for this input under convention "
                      f"{t.convention!r} (typically a constant image); the reference code "
                      f"returns NaN as well", UndefinedValueWarning, stacklevel=3)
    return value


def evaluate(key: str, impl: Impl, fused, ir, vis, convention: str) -> float:
    """Validate and prepare the inputs, then evaluate one metric."""
    return run_impl(key, impl, Triplet(fused, ir, vis, convention))


def vifb_mean(t: Triplet, per_channel: Impl) -> float:
    """VIFB's channel loop: the mean of ``per_channel`` over the fused image's channels."""
    subs = t.vifb_channels()
    return float(np.mean([per_channel(s) for s in subs]))
