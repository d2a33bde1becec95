"""The runner: for each dataset × fuser × pair, fuse, save, compute metrics, record latency.

Per-pair results are cached in ``<out>/.cache/`` as one JSON record (plus the fused PNG) per
(dataset, pair, source-file hashes, fuser config incl. checkpoint hash). Metric values inside a
record are keyed by metric + convention + metric version. A rerun skips what is done; an
interrupted run (Ctrl-C, kill -9) loses at most the pairs in flight (``--jobs`` of them), because
every record is written atomically as soon as its pair is finished.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import metrics as metrics_pkg

from .colour import luma, recombine, to_uint8
from .config import RunConfig
from .datasets import DatasetError, DatasetSpec, Pair, get_dataset
from .fusers import FuserEntry, build_fuser_entry
from ivif_toolbox import atomic_link_or_copy, atomic_write_json

from .io import ImageReadError, read_image, write_png

CACHE_FORMAT = 1


@dataclass
class PairOutcome:
    dataset: str
    fuser: str
    pair: str
    status: str                                     # "ok", "failed", "missing"
    message: str = ""
    latency_s: float | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)   # metric -> {value, units, ...}
    fused_path: Path | None = None
    cached: bool = False


@dataclass
class RunOutcome:
    config: RunConfig
    run_dir: Path
    outcomes: list[PairOutcome]
    datasets: dict[str, dict[str, Any]]             # key -> {title, official_count, pairs, complete, split}
    fusers: dict[str, dict[str, Any]]               # name -> fuser config / metadata
    unmatched: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # folder files matching no pair
    efficiency: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[PairOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def missing(self) -> list[PairOutcome]:
        return [o for o in self.outcomes if o.status == "missing"]


def _metric_slot(metric: str, convention: str) -> str:
    version = metrics_pkg.provenance(metric, convention)["version"]
    return f"{metric}|{convention}|{version}"


def _record_key(dataset: str, pair: str, source_hash: str, fuser_hash: str) -> str:
    blob = json.dumps([CACHE_FORMAT, dataset, pair, source_hash, fuser_hash]).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


class PairCache:
    """One JSON record + fused PNG per (dataset, pair, sources, fuser config) under ``<out>/.cache``."""

    def __init__(self, out_dir: Path):
        self.root = out_dir / ".cache"

    def paths(self, dataset: str, fuser: str, pair: str, key: str) -> tuple[Path, Path]:
        base = self.root / _safe(dataset) / _safe(fuser) / f"{_safe(pair)}-{key}"
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


def _compute_metrics(fused_path: str, pair: Pair, metric_keys: list[str], convention: str) -> dict[str, dict[str, Any]]:
    """Worker: read the saved fused PNG and the sources as stored, compute the metrics (no exceptions escape)."""
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


def _fuse_pair(entry: FuserEntry, pair: Pair, loaded) -> tuple[np.ndarray, float]:
    """Run the fuser on one loaded pair; return the 8-bit image to save and the fusion latency."""
    vis_y = luma(loaded.vis)
    t0 = time.perf_counter()
    fused_y = entry.fuser.run(loaded.ir, vis_y)
    latency = time.perf_counter() - t0
    return to_uint8(recombine(fused_y, loaded.vis)), latency


def _dataset_meta(spec: DatasetSpec, n_found: int, n_used: int, limit: int | None) -> dict[str, Any]:
    return {"title": spec.title, "split": spec.split, "official_count": spec.official_count, "found": n_found,
            "pairs": n_used, "complete": n_used == spec.official_count,
            "limited": limit is not None and n_found > n_used}


def run(config: RunConfig, *, log: Callable[[str], None] | None = None) -> RunOutcome:
    """Execute ``config`` (validated here) and write every result file; returns the outcome."""
    from joblib import Parallel

    from .results import write_run_results

    log = log or (lambda msg: print(msg, file=sys.stderr))
    config.validate()
    out_dir = Path(config.out)
    run_id = config.resolved_run_id()
    run_dir = out_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    cache = PairCache(out_dir)
    slots = {m: _metric_slot(m, config.convention) for m in config.metrics}

    entries = [build_fuser_entry(tok, kwargs=config.kwargs_for(tok), device=config.device) for tok in config.fusers]
    names = [e.name for e in entries]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"fusers: two entries share the leaderboard name(s) {sorted(dup)}; rename one")

    outcome = RunOutcome(config, run_dir, [], {}, {})
    for e in entries:
        meta = e.config()
        if e.fuser is not None:
            spec = models_spec(e.token)
            meta.update(framework=e.fuser.framework, params=e.fuser.num_parameters(),
                        reference=e.fuser.reference or (spec.reference if spec else ""),
                        weights=e.fuser.weights_provenance)
        else:
            meta.update(framework="—", params=None, reference="published fused images",
                        weights="published outputs", output_policy="as published (folder)")
        outcome.fusers[e.name] = meta

    parallel = Parallel(n_jobs=config.jobs, prefer="processes") if config.jobs > 1 else None
    for ds_name in config.datasets:
        spec = get_dataset(ds_name)
        listing = spec.listing(config.data_root)
        pairs = listing.pairs[: config.limit] if config.limit else listing.pairs
        if not listing.pairs:
            raise DatasetError(f"dataset {spec.key!r} at {listing.root}: no IR/VIS pairs found")
        if len(listing.pairs) != spec.official_count:
            log(f"[{spec.key}] {len(listing.pairs)} pairs found at {listing.root}; the official split "
                f"{spec.split} has {spec.official_count}: results are for a subset")
        for p in listing.unpaired_ir + listing.unpaired_vis:
            log(f"[{spec.key}] unpaired file ignored: {p}")
        outcome.datasets[spec.key] = _dataset_meta(spec, len(listing.pairs), len(pairs), config.limit)
        hashes = {p.name: p.source_hash() for p in pairs}
        for entry in entries:
            _run_dataset_fuser(entry, spec, pairs, hashes, config, cache, run_dir, slots, outcome, parallel, log)
    if config.profile:
        from .efficiency import profile_entries

        outcome.efficiency = profile_entries(entries, outcome, config, log)
    write_run_results(outcome)
    return outcome


def models_spec(token: str):
    import models

    return models.FUSERS.get(token) if token in models.FUSERS else None


def _run_dataset_fuser(entry: FuserEntry, spec: DatasetSpec, pairs: list[Pair], hashes: dict[str, str],
                       config: RunConfig, cache: PairCache, run_dir: Path, slots: dict[str, str],
                       outcome: RunOutcome, parallel, log) -> None:
    from tqdm.auto import tqdm

    fused_dir = run_dir / "fused" / spec.key / _safe(entry.name)
    folder_files: dict[str, Path] = {}
    if entry.is_folder:
        folder_files, unmatched = entry.folder.match(spec.key, spec.title, [p.name for p in pairs])
        if unmatched:
            outcome.unmatched[(spec.key, entry.name)] = [str(p) for p in unmatched]
            log(f"[{spec.key}/{entry.name}] {len(unmatched)} file(s) in {entry.folder.path} match no pair "
                f"(ignored): {', '.join(p.name for p in unmatched[:5])}{' …' if len(unmatched) > 5 else ''}")
    fuser_hash = entry.config_hash()
    bar = tqdm(total=len(pairs), desc=f"{spec.key} × {entry.name}", unit="pair", disable=not config.progress,
               dynamic_ncols=True, file=sys.stderr)
    chunk = max(1, config.jobs)
    for start in range(0, len(pairs), chunk):
        todo = []   # (pair, record, record_path, png_path)
        for pair in pairs[start:start + chunk]:
            src_hash = hashes[pair.name]
            if entry.is_folder:
                fpath = folder_files.get(pair.name)
                if fpath is None:
                    outcome.outcomes.append(PairOutcome(spec.key, entry.name, pair.name, "missing",
                                                        f"no fused image for {pair.name!r} in {entry.folder.path}"))
                    continue
                src_hash = src_hash + ":" + entry.folder.file_hash(fpath)
            key = _record_key(spec.key, pair.name, src_hash, fuser_hash)
            rec_path, png_path = cache.paths(spec.key, entry.name, pair.name, key)
            rec = cache.read(rec_path)
            if rec is None or not png_path.exists():
                rec = {"format": CACHE_FORMAT, "dataset": spec.key, "pair": pair.name, "fuser": entry.name,
                       "fuser_config": entry.config(), "source_hash": src_hash, "latency_s": None, "metrics": {}}
                try:
                    loaded = pair.load()
                    if entry.is_folder:
                        img = entry.folder.load(folder_files[pair.name], loaded.ir.shape)
                        rec["source_file"] = str(folder_files[pair.name])
                    else:
                        img, rec["latency_s"] = _fuse_pair(entry, pair, loaded)
                except (DatasetError, ImageReadError) as exc:
                    outcome.outcomes.append(PairOutcome(spec.key, entry.name, pair.name, "failed", str(exc)))
                    continue
                except Exception as exc:  # a fuser failing on one pair: record it and go on
                    msg = f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, (ValueError, RuntimeError)):
                        msg += " | " + traceback.format_exc(limit=3).strip().splitlines()[-1]
                    outcome.outcomes.append(PairOutcome(spec.key, entry.name, pair.name, "failed", msg))
                    continue
                write_png(png_path, img)
                atomic_write_json(rec_path, rec)
                cached = False
            else:
                cached = True
            todo.append((pair, rec, rec_path, png_path, cached))
        need = [(i, t) for i, t in enumerate(todo) if any(s not in t[1]["metrics"] for s in slots.values())]
        if need:
            jobs = [(str(t[3]), t[0], [m for m, s in slots.items() if s not in t[1]["metrics"]], config.convention)
                    for _, t in need]
            if parallel is not None and len(jobs) > 1:
                from joblib import delayed

                results = parallel(delayed(_compute_metrics)(*j) for j in jobs)
            else:
                results = [_compute_metrics(*j) for j in jobs]
            for (i, t), res in zip(need, results):
                pair, rec, rec_path, png_path, cached = t
                for m, v in res.items():
                    rec["metrics"][slots[m]] = v
                atomic_write_json(rec_path, rec)
        for pair, rec, rec_path, png_path, cached in todo:
            atomic_link_or_copy(png_path, fused_dir / f"{_safe(pair.name)}.png")
            values = {m: {**rec["metrics"][s], "metric": m} for m, s in slots.items()}
            outcome.outcomes.append(PairOutcome(spec.key, entry.name, pair.name, "ok", latency_s=rec.get("latency_s"),
                                                values=values, fused_path=fused_dir / f"{_safe(pair.name)}.png",
                                                cached=cached))
        bar.update(len(pairs[start:start + chunk]))
    bar.close()
