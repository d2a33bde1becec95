"""The Python API: one function per subcommand, each taking that subcommand's config.

``python -m benchmark run ...`` and ``benchmark.run(benchmark.RunConfig(...))`` do the same thing and
write the same files; the CLI only turns its arguments into the config and prints the outcome.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .config import ReportConfig, RunConfig, ValidateConfig
from .errors import ConfigError
from .outcomes import ReportOutcome, RunOutcome, ValidateOutcome


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def run(cfg: RunConfig, *, log: Callable[[str], None] | None = None) -> RunOutcome:
    """Do everything ``cfg`` says: fuse and evaluate every dataset × fuser × pair (cached, resumable),
    measure efficiency (``profile``), draw figures (``plots``), write the result files of
    ``<out>/<run id>/`` and regenerate the leaderboard (``leaderboard``) from every finished run in
    ``out`` (oldest first, this run last: its (dataset, fuser, convention) rows replace earlier ones,
    the blocks of other datasets and conventions are kept).

    ``cfg`` is validated (and its defaults filled) first. ``log`` receives progress notes (default:
    stderr). Every file is written atomically; finished pairs are cached as soon as they are done, so
    an interrupted run resumes where it stopped.
    """
    from .figures import make_plots
    from .report import find_runs, write_leaderboard
    from .results import write_run_results
    from .runner import build_entries, evaluate

    log = log or _stderr
    cfg.validate()
    entries = build_entries(cfg)
    outcome = evaluate(cfg, entries, log=log)
    if cfg.profile:
        from .efficiency import profile_entries

        outcome.efficiency = profile_entries(entries, cfg, log)
    del entries                     # the fusers (and their weights) are not kept beyond this point
    if cfg.plots:
        outcome.plots = make_plots(outcome)
    outcome.files = write_run_results(outcome)
    if cfg.leaderboard:   # every finished run of this --out folder, this one last (its rows replace older ones)
        runs = [r for r in find_runs(Path(cfg.out)) if r.resolve() != outcome.run_dir.resolve()]
        outcome.leaderboard = write_leaderboard(runs + [outcome.run_dir], Path(cfg.leaderboard))
    return outcome


def build_report(cfg: ReportConfig) -> ReportOutcome:
    """Regenerate the leaderboard from result folders, or (``check``) compare a committed one's
    quality tables with the regenerated ones (the machine-dependent blocks are ignored)."""
    import difflib

    from ivif_toolbox import atomic_write_text

    from .report import find_runs, render_leaderboard, strip_measured
    from .results import load_summary

    cfg.validate()
    runs = [Path(r) for r in cfg.runs] if cfg.runs else find_runs(Path(cfg.out))
    if not runs:
        raise ConfigError(f"runs: no finished run under {cfg.out}/ (run `python -m benchmark run` first)")
    target = Path(cfg.check or cfg.leaderboard)
    text = render_leaderboard([load_summary(r) for r in runs], target)
    if not cfg.check:
        atomic_write_text(target, text)
        return ReportOutcome(runs, target)
    if not target.is_file():
        raise ConfigError(f"check: {target}: no such file to check")
    committed, fresh = strip_measured(target.read_text(encoding="utf-8")), strip_measured(text)
    diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                        f"{target} (committed)", "regenerated", n=1))
    return ReportOutcome(runs, target, checked=True, stale=committed != fresh, diff=diff)


def validate_datasets(cfg: ValidateConfig) -> ValidateOutcome:
    """Check the datasets below ``cfg.data_root``: presence, file identity against each split's shipped
    manifest, pair count vs official, pairing, decodability, sizes.

    File digests come from a :class:`~benchmark.hash_cache.FileHashCache`, persisted in
    ``cfg.hash_cache`` when set (read before, saved after), so a second check of an unchanged folder
    hashes nothing; the text ends with how many files were hashed and how many came from the cache.
    """
    from .datasets import DATASETS, format_validation, get_dataset, load_entry_point_datasets, validate_dataset
    from .hash_cache import FileHashCache

    cfg.validate()
    load_entry_point_datasets()
    specs = [get_dataset(n) for n in (cfg.datasets or DATASETS.names())]
    cache = FileHashCache(cfg.hash_cache)
    reports = [validate_dataset(spec, cfg.data_root, decode=cfg.decode, hashes=cache) for spec in specs]
    cache.save()
    text = format_validation(cfg.data_root, specs, reports) + "\n" + cache.describe()
    return ValidateOutcome(Path(cfg.data_root).resolve(), reports, text)
