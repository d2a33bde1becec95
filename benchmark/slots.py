"""Metric values of a cache record, per slot ``metric|convention|version``, and the work still missing.

A pair's cache record (:mod:`benchmark.pairs`) keeps every metric value it has computed under its
slot (:func:`metric_slot`), whatever the run that computed it. A run asks for metrics × conventions;
:func:`missing_plan` says which of those slots the record lacks, grouped so that one
:func:`benchmark.evaluation.evaluate_conventions` call per group computes exactly the missing
values (adding a convention to a finished run computes only that convention's values), and
:func:`evaluate_plan` is the function a metric worker runs on one triplet.

This module imports only :mod:`metrics` and :mod:`benchmark.evaluation` (no torch, no fusers), so a
worker process unpickles :func:`evaluate_plan` cheaply.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import metrics as metrics_pkg

from .evaluation import evaluate_conventions

#: one group of a plan: (metric keys, conventions); every metric of the group under every convention
PlanGroup = tuple[tuple[str, ...], tuple[str, ...]]


def metric_slot(metric: str, convention: str) -> str:
    """Key of a metric value inside a cache record: metric, convention and the metric's version."""
    version = metrics_pkg.provenance(metric, convention)["version"]
    return f"{metric}|{convention}|{version}"


def missing_plan(have: dict[str, Any], metric_keys: Sequence[str], conventions: Sequence[str]) -> list[PlanGroup]:
    """The slots of ``metric_keys`` × ``conventions`` absent from ``have`` (a record's ``metrics``), as
    groups ``(metrics, conventions)``: conventions missing the same metrics share a group. Empty when
    every value is there. Metrics keep the order of ``metric_keys``, groups the order of ``conventions``."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for c in conventions:
        missing = tuple(m for m in metric_keys if metric_slot(m, c) not in have)
        if missing:
            groups.setdefault(missing, []).append(c)
    return [(ms, tuple(cs)) for ms, cs in groups.items()]


def plan_size(plan: Sequence[PlanGroup]) -> int:
    """How many (metric, convention) values a plan computes."""
    return sum(len(ms) * len(cs) for ms, cs in plan)


def evaluate_plan(fused: np.ndarray, ir_raw: np.ndarray, vis_raw: np.ndarray,
                  plan: Sequence[PlanGroup]) -> dict[str, dict[str, Any]]:
    """Worker: compute the values of ``plan`` on one triplet (arrays as saved/stored); returns
    ``{slot: value record}`` (the records of :func:`benchmark.evaluation.evaluate_pair`)."""
    out: dict[str, dict[str, Any]] = {}
    for ms, cs in plan:
        for conv, values in evaluate_conventions(fused, ir_raw, vis_raw, list(ms), list(cs)).items():
            for m, rec in values.items():
                out[metric_slot(m, conv)] = rec
    return out


def warm_up(metric_keys: Sequence[str], conventions: Sequence[str]) -> None:
    """Nothing to compute: a worker that runs this has imported this module, :mod:`metrics` and numpy
    (the runner sends one per worker first, so start-up overlaps the loading of the first pairs), and
    torch when one of ``metric_keys`` is computed by torch under one of ``conventions`` (ivifzoo's
    MS-SSIM and VIF), so that the import does not land on the first pair's clock. (It does not stop
    the process pool's memory-leak guard, which measures a worker after its first item and restarts
    one that grew by 300 MB: a run of ivifzoo on TNO-size images still sees one such restart, with
    loky's "A worker stopped ..." warning; the results are unaffected.)"""
    if any(metrics_pkg.get_metric(m).torch_conventions & set(conventions) for m in metric_keys):
        import torch  # noqa: F401  (the import is the work)
