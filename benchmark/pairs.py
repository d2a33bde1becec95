"""The per-pair cache: one JSON record + the fused PNG per (dataset, pair, sources, fuser config).

Per-pair results are cached in ``<out>/.cache/`` as one JSON record (plus the fused PNG) per
(dataset, pair, source-file hashes, fuser config incl. checkpoint hash). Metric values inside a
record are keyed by metric + convention + metric version (:func:`benchmark.slots.metric_slot`), so
a run with another convention or metric adds values to the same record. A record of a fused pair
also holds the fusion latency, the hardware it was measured on (``hardware``, absent from records
written before it was recorded) and the sha256 of the fused PNG (``png_sha256``): a PNG that no
longer matches it (truncated, replaced by hand) is fused again, and its metrics recomputed, instead
of being trusted. A pair whose fusion failed gets a record with its ``failure`` (message and full
traceback) and no image; a rerun tries it again.

Every record is written atomically (:mod:`ivif_toolbox`) as soon as its pair is fused and again as
soon as its metrics are complete, so an interrupted run (Ctrl-C, ``kill -9``) loses at most the
pairs in flight.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ivif_toolbox import atomic_write_json, sha256_file

from .slots import metric_slot

__all__ = ["CACHE_FORMAT", "PairCache", "record_key", "safe_name", "metric_slot", "write_record"]

#: version of the record layout; records of another format are recomputed
CACHE_FORMAT = 1


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
        return rec if isinstance(rec, dict) and rec.get("format") == CACHE_FORMAT else None

    @staticmethod
    def fused_ok(rec: dict[str, Any] | None, png_path: Path) -> bool:
        """True when ``png_path`` exists and its sha256 is the one ``rec`` recorded when it was written
        (a record without ``png_sha256``, or a PNG changed since, is not trusted)."""
        if rec is None or not rec.get("png_sha256") or not png_path.is_file():
            return False
        try:
            return sha256_file(png_path) == rec["png_sha256"]
        except OSError:
            return False


def write_record(path: Path, rec: dict[str, Any], png_job=None) -> None:
    """Write a cache record atomically; ``png_job`` (the writer job of its fused PNG,
    :func:`benchmark.io.write_png`, returning the PNG's sha256) is waited for first, so a record never names an image that is not on disk."""
    if png_job is not None:
        rec = {**rec, "png_sha256": png_job.result()}
    atomic_write_json(path, rec)
