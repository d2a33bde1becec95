"""``python -m benchmark``: thin subcommands over the validated config.

    run       fuse + evaluate datasets × fusers, write results/<run>/ and leaderboard.md
    ls        list datasets, fusers, metrics, conventions (-v for details)
    validate  check a data root: datasets found, pair counts vs official, unpaired/unreadable files
    report    regenerate leaderboard.md from result files (--check: fail when a committed one is stale)
    profile   parameters, FLOPs, latency and peak memory of fusers (efficiency table)
    train     train a trainable fuser (dmnet, red, ...) on a dataset

Exit codes: 0 success, 1 finished with failed pairs / stale leaderboard / failed validation,
2 bad arguments (unknown names come with a "did you mean" suggestion).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from ivif_toolbox import UnknownNameError


class UsageError(ValueError):
    """Bad command-line input (exit code 2)."""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,ls,validate,report,profile,train}")

    r = sub.add_parser("run", help="fuse and evaluate datasets × fusers; write results and leaderboard.md")
    r.add_argument("--config", help="YAML or TOML file with RunConfig fields (command-line options override it)")
    r.add_argument("--datasets", nargs="+", help="dataset names (default: synthetic)")
    r.add_argument("--fusers", nargs="+", help="registered names, folder:NAME=PATH, or package.module:Class "
                                                "(default: every registered fuser that needs no weights)")
    r.add_argument("--metrics", nargs="+", help="metric names (default: all 12)")
    r.add_argument("--convention", help="metric convention (default: tang2023)")
    r.add_argument("--data-root", help="folder holding the datasets (default: $FUSION_DATA, else ./data)")
    r.add_argument("--out", help="results folder (default: results/)")
    r.add_argument("--run-id", help="name of the run folder (default: derived from the config, so reruns resume)")
    r.add_argument("--jobs", type=int, help="parallel metric workers (default 1)")
    r.add_argument("--limit", type=int, help="use only the first N pairs of each dataset")
    r.add_argument("--device", help="cpu or cuda[:N] (default cpu)")
    r.add_argument("--fuser-arg", action="append", metavar="[FUSER.]KEY=VALUE",
                   help="keyword argument for the fusers (repeatable; FUSER. restricts it to one fuser)")
    r.add_argument("--checkpoint", action="append", metavar="[FUSER=]PATH",
                   help="weights file for a fuser (FUSER= may be omitted when one fuser is run)")
    r.add_argument("--profile", action="store_true", help="also measure params, FLOPs, latency, peak memory")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    r.add_argument("--leaderboard", help="leaderboard path to regenerate (default leaderboard.md; 'none' to skip)")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")

    ls = sub.add_parser("ls", help="list datasets, fusers, metrics and conventions")
    for what in ("datasets", "fusers", "metrics", "conventions"):
        ls.add_argument(f"--{what}", action="store_true", help=f"list {what}")
    ls.add_argument("-v", "--verbose", action="store_true", help="details")

    v = sub.add_parser("validate", help="check the datasets under a data root")
    v.add_argument("--data-root", help="folder holding the datasets (default: $FUSION_DATA, else ./data)")
    v.add_argument("--datasets", nargs="+", help="only these datasets (default: all registered)")
    v.add_argument("--no-decode", action="store_true", help="read image headers only (faster)")

    rp = sub.add_parser("report", help="regenerate leaderboard.md from result files")
    rp.add_argument("--runs", nargs="+", help="run folders (default: every finished run under --out, oldest first)")
    rp.add_argument("--out", default="results", help="results folder (default results/)")
    rp.add_argument("--leaderboard", default="leaderboard.md", help="file to write (default leaderboard.md)")
    rp.add_argument("--check", metavar="FILE", help="do not write; exit 1 when FILE's quality tables differ "
                                                   "from the regenerated ones (measured blocks are ignored)")

    pf = sub.add_parser("profile", help="params, FLOPs, latency and peak memory (efficiency table)")
    pf.add_argument("--fusers", nargs="+", required=True, help="fuser names")
    pf.add_argument("--size", type=_size, default=(640, 480), help="WIDTHxHEIGHT (default 640x480)")
    pf.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    pf.add_argument("--runs", type=int, default=10, help="timed runs (default 10)")
    pf.add_argument("--warmup", type=int, default=2, help="warm-up runs, not timed (default 2)")
    pf.add_argument("--fuser-arg", action="append", metavar="[FUSER.]KEY=VALUE", help="fuser keyword argument")
    pf.add_argument("--checkpoint", action="append", metavar="[FUSER=]PATH", help="weights file for a fuser")
    pf.add_argument("--no-flops", action="store_true", help="skip FLOP counting")
    pf.add_argument("--in-process", action="store_true",
                    help="measure in this process (CPU peak memory then includes everything loaded before)")

    sub.add_parser("train", help="train a fuser: python -m benchmark train NAME --help", add_help=False)
    return p


def _parse_checkpoints(items: list[str] | None, fusers: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if sep and not Path(item).exists():
            out[name] = path
        elif fusers and len(fusers) == 1:
            out[fusers[0]] = item
        else:
            raise UsageError(f"--checkpoint {item!r}: with several fusers write FUSER=PATH")
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from .config import RunConfig
    from .fusers import parse_fuser_args
    from .report import write_leaderboard
    from .runner import run

    cfg = RunConfig.from_file(args.config) if args.config else RunConfig()
    for name in ("datasets", "fusers", "metrics", "convention", "data_root", "out", "run_id", "jobs", "limit",
                 "device"):
        val = getattr(args, name)
        if val is not None:
            setattr(cfg, name, val)
    if args.fuser_arg:
        cfg.fuser_args = parse_fuser_args(args.fuser_arg)
    if args.checkpoint:
        cfg.checkpoints = _parse_checkpoints(args.checkpoint, cfg.fusers)
    cfg.profile = cfg.profile or args.profile
    cfg.plots = cfg.plots and not args.no_plots
    cfg.progress = cfg.progress and not args.no_progress and sys.stderr.isatty() or (
        not args.no_progress and os.environ.get("IVIF_PROGRESS") == "1")
    if args.leaderboard is not None:
        cfg.leaderboard = None if args.leaderboard.lower() == "none" else args.leaderboard
    cfg.validate()
    outcome = run(cfg)
    if cfg.plots:
        from .efficiency import make_plots

        make_plots(outcome)
        from .results import write_run_results

        write_run_results(outcome)
    n_ok = sum(o.status == "ok" for o in outcome.outcomes)
    n_cached = sum(o.cached for o in outcome.outcomes)
    print(f"results: {outcome.run_dir}/ ({n_ok} pair results, {n_cached} from cache; per_image.csv, summary.csv, "
          f"summary.json, config.json, fused/)")
    if cfg.leaderboard:
        path = write_leaderboard([outcome.run_dir], Path(cfg.leaderboard))
        print(f"leaderboard: {path}")
    if outcome.missing:
        print(f"missing: {len(outcome.missing)} pair(s) without a fused image in a result folder "
              f"(listed in summary.json and the leaderboard)")
    if outcome.failures:
        print(f"FAILED: {len(outcome.failures)} pair(s); first: {outcome.failures[0].dataset}/"
              f"{outcome.failures[0].fuser}/{outcome.failures[0].pair}: {outcome.failures[0].message}",
              file=sys.stderr)
        return 1
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    import metrics
    import models

    from .datasets import DATASETS
    from .fusers import load_entry_point_fusers

    load_entry_point_fusers()
    show_all = not (args.datasets or args.fusers or args.metrics or args.conventions)
    if args.datasets or show_all:
        print("datasets:")
        for name, spec in DATASETS.items():
            print(f"  {name:<14} {spec.title}: {spec.official_count} pairs ({spec.split}) — {spec.description}")
            if args.verbose:
                print(f"  {'':<14} source: {spec.source}; roles: {spec.roles}")
                if spec.embedded is None:
                    print(f"  {'':<14} layout:\n" + "\n".join(f"  {'':<14} {l.strip()}"
                                                             for l in spec.expected_layout().splitlines()))
    if args.fusers or show_all:
        print("fusers:")
        for name, spec in models.FUSERS.items():
            flags = ", ".join(x for x in (("needs weights" if spec.needs_weights else "weight-free"),
                                          *spec.tags) if x)
            print(f"  {name:<14} {spec.description} [{spec.framework}; {flags}] — {spec.reference or 'no reference'}")
            if args.verbose:
                for k, v in spec.extra.items():
                    print(f"  {'':<14} {k}: {v:,}" if isinstance(v, int) else f"  {'':<14} {k}: {v}")
                if spec.default_kwargs:
                    print(f"  {'':<14} defaults: {spec.default_kwargs}")
    if args.metrics or show_all:
        if args.verbose:
            print(metrics.describe(verbose=True))
        else:
            print("metrics:")
            for key, info in metrics.METRICS.items():
                print(f"  {key:<8} {info.display_name} {'↑' if info.higher_is_better else '↓'} — {info.reference}")
    if args.conventions or show_all:
        print("conventions:")
        for name, info in metrics.CONVENTIONS.items():
            desc = getattr(info, "description", info if isinstance(info, str) else "")
            print(f"  {name:<10} {desc}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .config import default_data_root
    from .datasets import DATASETS, get_dataset, validate_dataset

    root = args.data_root or default_data_root()
    names = args.datasets or DATASETS.names()
    specs = [get_dataset(n) for n in names]
    print(f"data root: {Path(root).resolve()}")
    bad = 0
    for spec in specs:
        rep = validate_dataset(spec, root, decode=not args.no_decode)
        if not rep.found:
            print(f"  {spec.key:<14} missing   0 / {spec.official_count} pairs; expected:")
            for line in spec.expected_layout().splitlines():
                print(f"  {'':<14}   {line.strip()}")
            continue
        where = f"at {rep.root}" if rep.root else "(embedded)"
        print(f"  {spec.key:<14} {rep.status:<9} {rep.pair_count} / {rep.official_count} pairs {where}")
        for u in rep.unpaired:
            print(f"  {'':<14}   unpaired: {u}")
        for u in rep.unreadable:
            print(f"  {'':<14}   unreadable: {u}")
        for u in rep.size_mismatches:
            print(f"  {'':<14}   IR/VIS size mismatch: {u}")
        bad += not rep.ok
    return 1 if bad else 0


def cmd_report(args: argparse.Namespace) -> int:
    from ivif_toolbox import atomic_write_text
    from .report import find_runs, render_leaderboard, strip_measured
    from .results import load_summary

    runs = [Path(r) for r in args.runs] if args.runs else find_runs(Path(args.out))
    if not runs:
        raise UsageError(f"no finished run under {args.out}/ (run `python -m benchmark run` first)")
    target = Path(args.check or args.leaderboard)
    text = render_leaderboard([load_summary(r) for r in runs], target)
    if args.check:
        if not target.is_file():
            print(f"{target}: no such file to check", file=sys.stderr)
            return 1
        committed = strip_measured(target.read_text())
        fresh = strip_measured(text)
        if committed != fresh:
            import difflib

            diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                f"{target} (committed)", "regenerated", n=1))
            print(f"{target} is stale: its quality tables differ from the regenerated ones:\n{diff}", file=sys.stderr)
            return 1
        print(f"{target}: quality tables up to date ({len(runs)} run(s))")
        return 0
    atomic_write_text(target, text)
    print(f"leaderboard: {target} (from {len(runs)} run(s))")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from .efficiency import profile_command

    return profile_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "train":
            from .train import main_train

            return main_train(argv[1:])
        args = build_parser().parse_args(argv)
        handler = {"run": cmd_run, "ls": cmd_ls, "validate": cmd_validate, "report": cmd_report,
                   "profile": cmd_profile}[args.command]
        return handler(args)
    except UnknownNameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished pairs are saved; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        from .config import ConfigError
        from .datasets import DatasetError
        from .fusers import FuserTokenError, PluginError

        known = (UsageError, ConfigError, DatasetError, FuserTokenError, PluginError)
        try:
            import metrics

            known += (metrics.UnknownMetricError, metrics.UnknownConventionError)
        except (ImportError, AttributeError):
            pass
        if isinstance(exc, known):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
