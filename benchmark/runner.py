"""The runner: every dataset × fuser × pair in one pipelined stream (:mod:`benchmark.engine`).

:func:`evaluate` walks the pairs once, cache first: a pair whose fused image (sha256 verified) and
every requested metric value (metric × convention) are cached never reaches a worker; a pair with
its fused image but missing values goes to the workers without being fused; only the rest is read
(prefetching loader thread), fused (``batch_size`` same-size pairs per call on the fuser's device)
and then evaluated. The producer (loading and fusing) runs on a background thread behind a bounded
queue, the metric workers (``executor``: serial, local processes, dask, slurm) receive the arrays
(fused image as saved, sources as stored; :func:`benchmark.slots.evaluate_plan`), and every PNG and
record is written by a background writer thread: a pair's record as soon as it is fused and again
as soon as its metrics arrive (``kill -9`` loses only the pairs in flight). Outcomes are sorted by
(dataset, fuser, pair) in the configured order, so the result files do not depend on the order in
which the workers finish. The true-colour IR check (:mod:`benchmark.warnings_ir`) measures the IR
images the producer loads anyway (and keeps the figure in each pair's record); only the images of
pairs that need no work and whose records predate that are decoded for it, once per dataset after
its pairs have been produced.

It writes cache records and fused images as it goes, but not the run's result files:
:func:`benchmark.run` does that once everything (plots, efficiency figures) is known.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ivif_toolbox import atomic_link_or_copy

from .config import RunConfig
from .datasets import DatasetError, DatasetSpec, Pair, get_dataset
from .errors import ConfigError
from .fusers import FuserEntry, build_fuser_entry
from .hardware import hardware_info
from .hash_cache import FileHashCache
from .io import ImageReadError, read_image, write_png
from .outcomes import PairOutcome, RunOutcome
from .pairs import CACHE_FORMAT, PairCache, record_key, safe_name, write_record
from .slots import evaluate_plan, metric_slot, missing_plan, warm_up
from .splits import SplitIdentity
from .warnings_ir import channel_spread, check_ir_colour

_WARM_UP = "warm-up"   # key of the items that only start a worker
#: write jobs queued at most (a pair queues 3 to 5: PNG, records, link; a PNG job holds its image, 4 MB
#: for 1280×1024 RGB): room for the encoder to fall a few pairs behind without stalling the fusion
_WRITER_QUEUE = 32
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
    the outcome (no result files written yet). Exceptions other than one pair's failure (an
    environment error of the writer, Ctrl-C) stop the run; what was finished is cached."""
    from .engine import ExecutorError, ExecutorUnavailableError

    log = log or (lambda msg: print(msg, file=sys.stderr))
    out_dir = Path(config.out)
    run_dir = out_dir / config.resolved_run_id()
    run_dir.mkdir(parents=True, exist_ok=True)
    outcome = RunOutcome(config, run_dir, [], {}, {})
    for e in entries:
        outcome.fusers[e.name] = _fuser_meta(e)
    hardware: dict[str, dict[str, str]] = {}   # device -> description, asked once per run (after the fusers
    for e in entries:                          # are built, so that torch's thread count is known)
        if e.fuser is not None and e.fuser.device not in hardware:
            hardware[e.fuser.device] = hardware_info(e.fuser.device)
    file_hashes = FileHashCache(out_dir / FILE_HASH_CACHE)

    def list_datasets() -> list[tuple[DatasetSpec, list[Pair], dict[str, str]]]:
        datasets = [_list_dataset(name, config, outcome, file_hashes, log) for name in config.datasets]
        if file_hashes.hits or file_hashes.misses:      # (embedded datasets have no files)
            log(file_hashes.describe())
        return datasets

    state = _Stream(config, PairCache(out_dir), run_dir, outcome, hardware, log)
    try:
        _stream(config, list_datasets, entries, state)
    except ExecutorUnavailableError as exc:     # dask not installed: what to install (exit 2)
        raise ConfigError(f"executor: {exc}") from None
    except ExecutorError as exc:                # the scheduler cannot be reached or was lost (exit 3)
        raise OSError(f"executor {config.resolved_executor()!r}: {exc}") from None
    outcome.outcomes = [o for _, o in sorted(state.done, key=lambda t: t[0])]
    return outcome


def _stream(config: RunConfig, list_datasets, entries: list[FuserEntry], state: "_Stream") -> None:
    """Run every pair through the executor; the outcomes land in ``state.done``. The datasets are
    listed, checked against their manifests and hashed (``list_datasets()``: all of them, before any
    pair is fused) while the workers start."""
    from .engine import make_executor
    from .engine.loader import background
    from .engine.writer import BackgroundWriter

    executor = make_executor(config.resolved_executor(), jobs=config.jobs, max_in_flight=config.max_in_flight,
                             scheduler=config.scheduler, slurm=config.slurm)
    with executor, BackgroundWriter(max_queued=_WRITER_QUEUE) as writer:
        state.writer = writer
        if config.resolved_executor() in ("local", "dask"):   # start the workers while the first pairs load
            for i in range(min(executor.workers, executor.max_in_flight)):
                executor.submit((_WARM_UP, i), warm_up, list(config.metrics), list(config.conventions))
        datasets = list_datasets()
        items = background(state.produce(datasets, entries), depth=2)
        try:
            for res in executor.map_unordered(evaluate_plan, items):
                if res.key[0] != _WARM_UP:
                    state.finish(res)
        finally:   # stop the producer while the writer still runs (it may wait for room in the writer's queue)
            items.close()
            state.close_bars()


def _list_dataset(name: str, config: RunConfig, outcome: RunOutcome, file_hashes: FileHashCache,
                  log) -> tuple[DatasetSpec, list[Pair], dict[str, str]]:
    """A dataset's pairs (``--limit``: the first N), checked against its split's manifest, with the
    source hash of every pair (file digests from, and saved to, ``file_hashes``)."""
    spec = get_dataset(name)
    listing = spec.listing(config.data_root)
    if not listing.pairs:
        raise DatasetError(f"dataset {spec.key!r} at {listing.root}: no IR/VIS pairs found")
    pairs = listing.pairs[: config.limit] if config.limit else listing.pairs
    if len(listing.pairs) != spec.official_count:
        log(f"[{spec.key}] {len(listing.pairs)} pairs found at {listing.root}; the official split "
            f"{spec.split} has {spec.official_count}: results are for a subset")
    for p in listing.unpaired_ir + listing.unpaired_vis:
        log(f"[{spec.key}] unpaired file ignored: {p}")
    identity = spec.identity(pairs, file_hashes)     # of the pairs evaluated (--limit: the first N)
    if identity is not None:
        log(f"[{spec.key}] {identity.text}")
    outcome.datasets[spec.key] = _dataset_meta(spec, len(listing.pairs), len(pairs), config.limit, identity)
    hashes = {p.name: p.source_hash(file_hashes) for p in pairs}
    file_hashes.save()
    return spec, pairs, hashes


@dataclass
class _Task:
    """One dataset × fuser × pair on its way through the pipeline."""

    index: tuple[int, int, int]               # (dataset, fuser, pair) positions: the outcome order
    spec: DatasetSpec
    entry: FuserEntry
    pair: Pair
    rec_path: Path
    png_path: Path
    rec: dict[str, Any]
    fused_cached: bool                        # the fused image came from the cache
    folder_file: Path | None = None
    plan: list = field(default_factory=list)  # missing (metrics, conventions) groups
    png_job: Any = None                       # the writer job of a freshly fused PNG (returns its sha256)


class _Stream:
    """The producer (cache lookups, loading, fusing; on a background thread) and the consumer
    (:meth:`finish`: metric results into records and outcomes; on the caller's thread) of one run."""

    def __init__(self, config: RunConfig, cache: PairCache, run_dir: Path, outcome: RunOutcome,
                 hardware: dict[str, dict[str, str]], log):
        self.config, self.cache, self.run_dir, self.outcome = config, cache, run_dir, outcome
        self.hardware, self.log = hardware, log
        self.metrics = list(config.metrics)
        self.conventions = list(config.conventions)
        self.writer = None
        self.done: list[tuple[tuple[int, int, int], PairOutcome]] = []
        self.in_flight: dict[tuple[int, int, int], _Task] = {}
        self.bars: dict[tuple[int, int], Any] = {}
        self.ir_spreads: dict[str, dict[str, int]] = {}   # dataset -> pair -> IR channel spread

    # ------------------------------------------------------------------ producer
    def produce(self, datasets, entries) -> Iterator[tuple[tuple[int, int, int], tuple]]:
        """``(key, (fused, ir_raw, vis_raw, plan))`` for every pair that needs a worker, dataset by
        dataset and fuser by fuser; the other pairs' outcomes are recorded on the way."""
        from .engine.batching import fuse_stream
        from .engine.loader import prefetch_map

        for di, (spec, pairs, hashes) in enumerate(datasets):
            for ei, entry in enumerate(entries):
                self._bar(di, ei, spec, entry, len(pairs))
                tasks = self._lookup(di, ei, spec, entry, pairs, hashes)
                evaluate_only = [t for t in tasks if t.fused_cached]
                for x in prefetch_map(self._read_cached, evaluate_only, depth=4, catch=()):
                    yield from self._submit(x.item, *x.value)
                to_fuse = [t for t in tasks if not t.fused_cached]
                loaded = prefetch_map(self._load, to_fuse, depth=4, catch=())
                if entry.is_folder:
                    for x in loaded:
                        yield from self._submit_fused(x.item, *x.value)
                    continue
                stream = ((x.item, x.value[0]) if x.value[0] is not None else ((x.item, x.value[2]), None)
                          for x in loaded)
                for tag, lp, fused in fuse_stream(entry.fuser, stream, batch_size=self.config.batch_size):
                    if lp is None:        # failed to load: tag is (task, message)
                        self._fail(*tag)
                    elif not fused.ok:
                        self._fail(tag, fused.error, fused.traceback)
                    else:
                        tag.rec.update(latency_s=fused.latency_s, batch_size=fused.batch_size,
                                       hardware=self.hardware.get(entry.fuser.device))
                        if fused.note:
                            tag.rec["batch_note"] = fused.note
                        yield from self._submit_fused(tag, (lp.ir_raw, lp.vis_raw), fused.image, None)
            # the true-colour IR check, on the spreads of the images loaded above or kept in cache records
            self.outcome.warnings += check_ir_colour(spec.key, pairs, self.log,
                                                     known=self.ir_spreads.get(spec.key))

    def _lookup(self, di: int, ei: int, spec: DatasetSpec, entry: FuserEntry, pairs: list[Pair],
                hashes: dict[str, str]) -> list[_Task]:
        """Cache first: record the pairs that need no work (and the missing fused files); return the others."""
        folder_files: dict[str, Path] = {}
        searched = None
        if entry.is_folder:
            searched = entry.folder.folder_for(spec.key, spec.title)
            folder_files, unmatched = entry.folder.match(spec.key, spec.title, [p.name for p in pairs])
            if unmatched:
                self.outcome.unmatched[(spec.key, entry.name)] = [str(p) for p in unmatched]
                self.log(f"[{spec.key}/{entry.name}] {len(unmatched)} file(s) in {searched} match no pair "
                         f"(ignored): {', '.join(p.name for p in unmatched[:5])}{' …' if len(unmatched) > 5 else ''}")
        fuser_hash = entry.config_hash()
        tasks = []
        for pi, pair in enumerate(pairs):
            index = (di, ei, pi)
            src_hash = hashes[pair.name]
            fpath = folder_files.get(pair.name)
            if entry.is_folder:
                if fpath is None:
                    self._record(index, PairOutcome(spec.key, entry.name, pair.name, "missing",
                                                    f"no fused image for {pair.name!r} in {searched}"))
                    continue
                src_hash = src_hash + ":" + entry.folder.file_hash(fpath)
            rec_path, png_path = self.cache.paths(spec.key, entry.name, pair.name,
                                                  record_key(spec.key, pair.name, src_hash, fuser_hash))
            rec = self.cache.read(rec_path)
            fused_cached = self.cache.fused_ok(rec, png_path)
            if not fused_cached:   # new, failed before, or its PNG changed: fuse again, recompute every value
                rec = {"format": CACHE_FORMAT, "dataset": spec.key, "pair": pair.name, "fuser": entry.name,
                       "fuser_config": entry.config(), "source_hash": src_hash, "latency_s": None, "metrics": {}}
                if fpath is not None:
                    rec["source_file"] = str(fpath)
            task = _Task(index, spec, entry, pair, rec_path, png_path, rec, fused_cached, fpath)
            if isinstance(rec.get("ir_channel_spread"), int):
                self.ir_spreads.setdefault(spec.key, {})[pair.name] = rec["ir_channel_spread"]
            task.plan = missing_plan(rec["metrics"], self.metrics, self.conventions)
            if fused_cached and not task.plan:
                self._link(task)
                self._record(index, self._ok(task, metrics_cached=True))
            else:
                tasks.append(task)
        return tasks

    @staticmethod
    def _read_cached(task: _Task) -> tuple[tuple | None, Any, str | None]:
        try:
            return task.pair.raw(), read_image(task.png_path), None
        except (DatasetError, ImageReadError) as exc:
            return None, None, str(exc)

    @staticmethod
    def _load(task: _Task) -> tuple[Any, Any, str | None]:
        """The loaded pair (or, for a result folder, the raw sources and the published image)."""
        try:
            if task.entry.is_folder:
                ir_raw, vis_raw = task.pair.raw()
                return (ir_raw, vis_raw), task.entry.folder.load(task.folder_file, ir_raw.shape[:2]), None
            return task.pair.load(), None, None
        except (DatasetError, ImageReadError) as exc:
            return None, None, str(exc)
        except ValueError as exc:        # a published image of the wrong size
            return None, None, f"{type(exc).__name__}: {exc}"

    def _submit_fused(self, task: _Task, sources, image, error: str | None):
        if error is not None:
            self._fail(task, error)
            return
        task.png_job = self.writer.submit(write_png, task.png_path, image)
        self.writer.submit(write_record, task.rec_path, _snapshot(task.rec), task.png_job)
        yield from self._submit(task, sources, image, None)

    def _submit(self, task: _Task, sources, image, error: str | None):
        if error is not None:
            self._fail(task, error)
            return
        self._note_ir(task, sources[0])
        self.in_flight[task.index] = task
        yield task.index, (image, sources[0], sources[1], task.plan)

    def _note_ir(self, task: _Task, ir_raw: np.ndarray) -> None:
        """The IR image's channel spread (for the true-colour check), measured on the loaded image and
        kept in the pair's record, so that a rerun that loads nothing need not decode it again."""
        spreads = self.ir_spreads.setdefault(task.spec.key, {})
        if task.pair.name not in spreads:
            spreads[task.pair.name] = channel_spread(ir_raw)
        task.rec["ir_channel_spread"] = spreads[task.pair.name]

    # ------------------------------------------------------------------ consumer
    def finish(self, res) -> None:
        """A worker's result: the values go into the record (written at once), the pair is done."""
        task = self.in_flight.pop(res.key)
        if not res.ok:
            self._record(task.index, PairOutcome(task.spec.key, task.entry.name, task.pair.name, "failed",
                                                 f"metrics: {res.error}"))
            return
        task.rec["metrics"].update(res.value)
        self.writer.submit(write_record, task.rec_path, _snapshot(task.rec), task.png_job)
        self._link(task)
        o = self._ok(task, metrics_cached=False)
        o.metric_s, o.metric_cpu_s, o.worker = res.elapsed_s, res.cpu_s, res.worker
        self._record(task.index, o)

    # ------------------------------------------------------------------ shared
    def _fused_path(self, task: _Task) -> Path:
        return self.run_dir / "fused" / task.spec.key / safe_name(task.entry.name) / f"{safe_name(task.pair.name)}.png"

    def _link(self, task: _Task) -> None:
        """The run folder's fused/ file: a hard link to the cached PNG (after the PNG is written)."""
        if task.png_job is None:
            self.writer.submit(atomic_link_or_copy, task.png_path, self._fused_path(task))
        else:
            from .engine.writer import after

            self.writer.submit(after, task.png_job, atomic_link_or_copy, task.png_path, self._fused_path(task))

    def _ok(self, task: _Task, *, metrics_cached: bool) -> PairOutcome:
        have = task.rec["metrics"]
        values = {c: {m: {**have[metric_slot(m, c)], "metric": m} for m in self.metrics} for c in self.conventions}
        return PairOutcome(task.spec.key, task.entry.name, task.pair.name, "ok", latency_s=task.rec.get("latency_s"),
                           values=values, fused_path=self._fused_path(task), cached=task.fused_cached,
                           metrics_cached=metrics_cached, hardware=task.rec.get("hardware"),
                           batch_size=task.rec.get("batch_size"))

    def _fail(self, task: _Task, message: str, tb: str | None = None) -> None:
        if tb is not None:     # the pair's record keeps the whole traceback (no image: a rerun fuses again)
            self.writer.submit(write_record, task.rec_path,
                               {**_snapshot(task.rec), "failure": {"message": message, "traceback": tb}})
        self._record(task.index, PairOutcome(task.spec.key, task.entry.name, task.pair.name, "failed", message,
                                             traceback=tb))

    def _record(self, index: tuple[int, int, int], o: PairOutcome) -> None:
        self.done.append((index, o))
        bar = self.bars.get(index[:2])
        if bar is not None:
            bar.update(1)

    def _bar(self, di: int, ei: int, spec: DatasetSpec, entry: FuserEntry, total: int) -> None:
        from tqdm.auto import tqdm

        self.bars[(di, ei)] = tqdm(total=total, desc=f"{spec.key} × {entry.name}", unit="pair",
                                   disable=not show_progress(self.config), dynamic_ncols=True, file=sys.stderr)

    def close_bars(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _snapshot(rec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a record for the writer thread (the caller keeps adding values to its own)."""
    return {**rec, "metrics": dict(rec["metrics"])}
