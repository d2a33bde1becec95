"""The work on one pair: cache lookup, fusing, metric computation, and the cache itself.

Per-pair results are cached in ``<out>/.cache/`` as one JSON record (plus the fused PNG) per
(dataset, pair, source-file hashes, fuser config incl. checkpoint hash). Metric values inside a
record are keyed by metric + convention + metric version (:func:`metric_slot`). Every record is
written atomically as soon as its pair is finished, so an interrupted run (Ctrl-C, ``kill -9``) loses
at most the pairs in flight. A record of a fused pair also holds the latency and the hardware it was
measured on (``hardware``, absent from records written before it was recorded).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import metrics as metrics_pkg

from .colour import luma, recombine, unit_to_uint8
from .datasets import Pair
from .fusers import FuserEntry
from .io import read_image

#: version of the record layout; records of another format are recomputed
CACHE_FORMAT = 1


def metric_slot(metric: str, convention: str) -> str:
    """Key of a metric value inside a cache record: metric, convention and the metric's version."""
    version = metrics_pkg.provenance(metric, convention)["version"]
    return f"{metric}|{convention}|{version}"


def record_key(dataset: str, pair: str, source_hash: str, fuser_hash: str) -> str:
    blob = json.dumps([CACHE_FORMAT, dataset, pair, source_hash, fuser_hash]).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def safe_name(name: str) -> str:
    """``name`` with every character other than letters, digits and ``-_.`` replaced by ``_`` (file names)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


class PairCache:
    """One JSON record + fused PNG per (dataset, pair, sources, fuser config) under ``<out>/.cache``."""

    def __init__(self, out_dir: Path):
        self.root = out_dir / ".cache"

    def paths(self, dataset: str, fuser: str, pair: str, key: str) -> tuple[Path, Path]:
        base = self.root / safe_name(dataset) / safe_name(fuser) / f"{safe_name(pair)}-{key}"
        return base.with_suffix(".json"), base.with_suffix(".png")

    @staticmethod
    def read(path: Path) -> dict[str, Any] | None:
        try:
            with open(path) as f:
                rec = json.load(f)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, OSError):
            return None  # a torn file cannot exist (atomic writes), but a hand-edited one is recomputed
        return rec if rec.get("format") == CACHE_FORMAT else None


def compute_metrics(fused_path: str, pair: Pair, metric_keys: list[str], convention: str) -> dict[str, dict[str, Any]]:
    """Worker: read the saved fused PNG and the sources as stored, compute the metrics.

    A metric that refuses the images (``ValueError``) or is undefined for them (NaN) gets value None
    and its reason under ``error``; warnings are recorded under ``warnings``. Other exceptions (an
    unreadable file, a bug) propagate.
    """
    fused = read_image(fused_path)
    ir_raw, vis_raw = pair.raw()
    out: dict[str, dict[str, Any]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = metrics_pkg.compute(fused, ir_raw, vis_raw, metrics=metric_keys, convention=convention)
            errors: dict[str, str] = {}
        except ValueError:
            values, errors = {}, {}
            for m in metric_keys:   # isolate the metric that refuses these images
                try:
                    values.update(metrics_pkg.compute(fused, ir_raw, vis_raw, metrics=[m], convention=convention))
                except ValueError as exc:
                    errors[m] = str(exc)
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    for m in metric_keys:
        prov = metrics_pkg.provenance(m, convention)
        v = values.get(m)
        out[m] = {"value": None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v),
                  "units": prov["units"], "effective_source": prov["effective_source"], "version": prov["version"],
                  "error": errors.get(m) or (None if v is not None and not (isinstance(v, float) and math.isnan(v))
                                             else "NaN (undefined for these images)"),
                  "warnings": notes}
    return out


def fuse_pair(entry: FuserEntry, loaded) -> tuple[np.ndarray, float]:
    """Run the fuser on one loaded pair; return the 8-bit image to save and the fusion latency."""
    vis_y = luma(loaded.vis)
    t0 = time.perf_counter()
    fused_y = entry.fuser.run(loaded.ir, vis_y)
    latency = time.perf_counter() - t0
    return unit_to_uint8(recombine(fused_y, loaded.vis)), latency
