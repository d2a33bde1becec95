"""The runner: for each dataset × fuser × pair, fuse (or take from the cache), save, compute metrics.

:func:`evaluate` builds the fusers and walks the datasets; the work on one pair (cache records,
fusing, metrics) lives in :mod:`benchmark.pairs`. It writes cache records and fused images as it
goes, but not the run's result files: :func:`benchmark.run` does that once everything (plots,
efficiency figures) is known.
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, Callable

from ivif_toolbox import atomic_link_or_copy, atomic_write_json

from .config import RunConfig
from .datasets import DatasetError, DatasetSpec, Pair, get_dataset
from .errors import ConfigError
from .fusers import FuserEntry, build_fuser_entry
from .hardware import hardware_info
from .hash_cache import FileHashCache
from .io import ImageReadError, write_png
from .outcomes import PairOutcome, RunOutcome
from .pairs import CACHE_FORMAT, PairCache, compute_metrics, fuse_pair, metric_slot, record_key, safe_name
from .splits import SplitIdentity
from .warnings_ir import check_ir_colour


#: The run's file-hash cache (sha256 per source file, keyed by path, size and times), below ``--out``.
FILE_HASH_CACHE = Path(".cache") / "file-hashes.json"


def _dataset_meta(spec: DatasetSpec, n_found: int, n_used: int, limit: int | None,
                  identity: SplitIdentity | None) -> dict[str, Any]:
    return {"title": spec.title, "split": spec.split, "official_count": spec.official_count, "found": n_found,
            "pairs": n_used, "complete": n_used == spec.official_count,
            "limited": limit is not None and n_found > n_used,
            **({"identity": identity.to_dict()} if identity is not None else {})}


def build_entries(config: RunConfig) -> list[FuserEntry]:
    """The fusers of a (validated) run, built once; two entries may not share a leaderboard name."""
    entries = [build_fuser_entry(tok, kwargs=config.kwargs_for(tok), device=config.device) for tok in config.fusers]
    names = [e.name for e in entries]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"fusers: two entries share the leaderboard name(s) {sorted(dup)}; rename one")
    return entries


def _fuser_meta(e: FuserEntry) -> dict[str, Any]:
    import models

    meta = e.config()
    if e.fuser is not None:
        spec = models.FUSERS.get(e.token) if e.token in models.FUSERS else None
        meta.update(framework=e.fuser.framework, params=e.fuser.num_parameters(),
                    reference=e.fuser.reference or (spec.reference if spec else ""),
                    weights=e.fuser.weights_provenance)
    else:
        meta.update(framework="—", params=None, reference="published fused images",
                    weights="published outputs", output_policy="as published (folder)")
    return meta


def show_progress(config: RunConfig) -> bool:
    """Progress bars: as configured, or (``progress=None``) when stderr is a terminal."""
    return sys.stderr.isatty() if config.progress is None else bool(config.progress)


def evaluate(config: RunConfig, entries: list[FuserEntry], *,
             log: Callable[[str], None] | None = None) -> RunOutcome:
    """Fuse and evaluate a validated ``config`` with its built fusers (:func:`build_entries`); returns
    the outcome (no result files written yet)."""
    from joblib import Parallel

    log = log or (lambda msg: print(msg, file=sys.stderr))
    out_dir = Path(config.out)
    run_dir = out_dir / config.resolved_run_id()
    run_dir.mkdir(parents=True, exist_ok=True)
    cache = PairCache(out_dir)
    file_hashes = FileHashCache(out_dir / FILE_HASH_CACHE)
    slots = {m: metric_slot(m, config.convention) for m in config.metrics}

    outcome = RunOutcome(config, run_dir, [], {}, {})
    for e in entries:
        outcome.fusers[e.name] = _fuser_meta(e)
    hardware: dict[str, dict[str, str]] = {}   # device -> description, asked once per run (after the fusers
    for e in entries:                          # are built, so that torch's thread count is known)
        if e.fuser is not None and e.fuser.device not in hardware:
            hardware[e.fuser.device] = hardware_info(e.fuser.device)

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
        identity = spec.identity(pairs, file_hashes)     # of the pairs evaluated (--limit: the first N)
        if identity is not None:
            log(f"[{spec.key}] {identity.text}")
        outcome.datasets[spec.key] = _dataset_meta(spec, len(listing.pairs), len(pairs), config.limit, identity)
        outcome.warnings += check_ir_colour(spec.key, pairs, log)
        hashes = {p.name: p.source_hash(file_hashes) for p in pairs}
        file_hashes.save()
        for entry in entries:
            hw = hardware.get(entry.fuser.device) if entry.fuser is not None else None
            _run_dataset_fuser(entry, spec, pairs, hashes, config, cache, run_dir, slots, outcome, parallel, log, hw)
    if file_hashes.hits or file_hashes.misses:      # (embedded datasets have no files)
        log(file_hashes.describe())
    return outcome


def _run_dataset_fuser(entry: FuserEntry, spec: DatasetSpec, pairs: list[Pair], hashes: dict[str, str],
                       config: RunConfig, cache: PairCache, run_dir: Path, slots: dict[str, str],
                       outcome: RunOutcome, parallel, log, hardware: dict[str, str] | None) -> None:
    from tqdm.auto import tqdm

    fused_dir = run_dir / "fused" / spec.key / safe_name(entry.name)
    folder_files: dict[str, Path] = {}
    if entry.is_folder:
        folder_files, unmatched = entry.folder.match(spec.key, spec.title, [p.name for p in pairs])
        if unmatched:
            outcome.unmatched[(spec.key, entry.name)] = [str(p) for p in unmatched]
            log(f"[{spec.key}/{entry.name}] {len(unmatched)} file(s) in {entry.folder.path} match no pair "
                f"(ignored): {', '.join(p.name for p in unmatched[:5])}{' …' if len(unmatched) > 5 else ''}")
    fuser_hash = entry.config_hash()
    bar = tqdm(total=len(pairs), desc=f"{spec.key} × {entry.name}", unit="pair", disable=not show_progress(config),
               dynamic_ncols=True, file=sys.stderr)
    chunk = max(1, config.jobs)
    for start in range(0, len(pairs), chunk):
        todo = []   # (pair, record, record_path, png_path, cached)
        for pair in pairs[start:start + chunk]:
            src_hash = hashes[pair.name]
            if entry.is_folder:
                fpath = folder_files.get(pair.name)
                if fpath is None:
                    outcome.outcomes.append(PairOutcome(spec.key, entry.name, pair.name, "missing",
                                                        f"no fused image for {pair.name!r} in {entry.folder.path}"))
                    continue
                src_hash = src_hash + ":" + entry.folder.file_hash(fpath)
            key = record_key(spec.key, pair.name, src_hash, fuser_hash)
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
                        img, rec["latency_s"] = fuse_pair(entry, loaded)
                        rec["hardware"] = hardware
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

                results = parallel(delayed(compute_metrics)(*j) for j in jobs)
            else:
                results = [compute_metrics(*j) for j in jobs]
            for (i, t), res in zip(need, results):
                pair, rec, rec_path, png_path, cached = t
                for m, v in res.items():
                    rec["metrics"][slots[m]] = v
                atomic_write_json(rec_path, rec)
        for pair, rec, rec_path, png_path, cached in todo:
            atomic_link_or_copy(png_path, fused_dir / f"{safe_name(pair.name)}.png")
            values = {m: {**rec["metrics"][s], "metric": m} for m, s in slots.items()}
            outcome.outcomes.append(PairOutcome(spec.key, entry.name, pair.name, "ok", latency_s=rec.get("latency_s"),
                                                values=values, fused_path=fused_dir / f"{safe_name(pair.name)}.png",
                                                cached=cached, hardware=rec.get("hardware")))
        bar.update(len(pairs[start:start + chunk]))
    bar.close()
