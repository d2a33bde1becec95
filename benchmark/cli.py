"""``python -m benchmark``: parse the arguments into the subcommand's config, call its one function,
print the outcome, and map exceptions to messages and exit codes (no other logic lives here).

    run       fuse + evaluate datasets × fusers, write results/<run>/ and leaderboard.md
    ls        list datasets, fusers, metrics, conventions (-v for details)
    validate  check a data root: datasets found, pair counts vs official, unpaired/unreadable files
    report    regenerate leaderboard.md from result files (--check: fail when a committed one is stale)
    profile   parameters, FLOPs, latency and peak memory of fusers (efficiency table)
    train     train a trainable fuser (dmnet, red, ...) on a dataset

Option values are handed to the configs as typed, so they parse exactly like the same values in a
``--config`` file (``benchmark.configbase``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from .errors import ExitCode, UsageError, classify, exit_code_help


def _given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The options that were given on the command line (None = not given)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _add_fuser_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``profile``: device, fuser keyword arguments, checkpoints."""
    p.add_argument("--device", help="cpu or cuda[:N] (default cpu)")
    p.add_argument("--fuser-arg", dest="fuser_args", action="append", metavar="[FUSER.]KEY=VALUE",
                   help="keyword argument for the fusers (repeatable; FUSER. restricts it to one fuser)")
    p.add_argument("--checkpoint", dest="checkpoints", action="append", metavar="[FUSER=]PATH",
                   help="weights file for a fuser (FUSER= may be omitted when there is one fuser)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.split("\n\n")[0],
                                epilog=exit_code_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,ls,validate,report,profile,train}")

    def parser(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=exit_code_help(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    r = parser("run", "fuse and evaluate datasets × fusers; write results and leaderboard.md")
    r.add_argument("--config", help="YAML or TOML file with RunConfig fields (command-line options override it)")
    r.add_argument("--datasets", nargs="+", help="dataset names (default: synthetic)")
    r.add_argument("--fusers", nargs="+", help="registered names, folder:NAME=PATH, or package.module:Class "
                                                "(default: every registered fuser that needs no weights)")
    r.add_argument("--metrics", nargs="+", help="metric names (default: all 12)")
    r.add_argument("--convention", dest="conventions", nargs="+", metavar="CONVENTION",
                   help="metric convention(s), each evaluated on every triplet, or 'all' (default: tang2023)")
    r.add_argument("--data-root", dest="data_root", help="folder holding the datasets (default: $FUSION_DATA, "
                                                         "else ./data)")
    r.add_argument("--out", help="results folder (default: results/)")
    r.add_argument("--run-id", dest="run_id", help="name of the run folder (default: derived from the config, "
                                                   "so reruns resume)")
    r.add_argument("--jobs", help="parallel metric workers (default 1)")
    r.add_argument("--limit", help="use only the first N pairs of each dataset")
    r.add_argument("--executor", help="where metrics are computed: serial (this process), local (--jobs "
                                      "processes), dask (--scheduler), slurm (config file 'slurm:' section); "
                                      "default serial for --jobs 1, else local")
    r.add_argument("--scheduler", help="dask executor: address of a running scheduler, e.g. tcp://HOST:8786")
    r.add_argument("--max-in-flight", dest="max_in_flight", help="pairs handed to the workers and not finished, "
                                                                  "at most (default 2 × workers)")
    r.add_argument("--batch-size", dest="batch_size",
                   help="same-size pairs fused in one call on the fuser's device (default 1; PyTorch does not "
                        "promise identical outputs for batch sizes > 1, e.g. oneDNN on CPU, cuDNN on GPU: "
                        "an 8-bit pixel may differ by one; 1 reproduces the per-pair results exactly)")
    _add_fuser_options(r)
    r.add_argument("--profile", action="store_const", const=True, help="also measure params, FLOPs, latency, "
                                                                        "peak memory")
    r.add_argument("--profile-runs", dest="profile_runs", help="timed runs per fuser for --profile (default 5)")
    r.add_argument("--no-plots", dest="plots", action="store_const", const=False, help="skip the PNG plots")
    r.add_argument("--leaderboard", help="leaderboard path to regenerate (default leaderboard.md; 'none' to skip)")
    r.add_argument("--progress", dest="progress", action="store_const", const=True,
                   help="progress bars even when stderr is not a terminal")
    r.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bars")

    ls = parser("ls", "list datasets, fusers, metrics and conventions")
    for what in ("datasets", "fusers", "metrics", "conventions"):
        ls.add_argument(f"--{what}", action="store_const", const=True, help=f"list {what}")
    ls.add_argument("-v", "--verbose", action="store_const", const=True, help="details")

    v = parser("validate", "check the datasets under a data root")
    v.add_argument("--data-root", dest="data_root", help="folder holding the datasets (default: $FUSION_DATA, "
                                                         "else ./data)")
    v.add_argument("--datasets", nargs="+", help="only these datasets (default: all registered)")
    v.add_argument("--no-decode", dest="decode", action="store_const", const=False,
                   help="read image headers only (faster)")
    v.add_argument("--hash-cache", dest="hash_cache", metavar="PATH",
                   help="JSON file keeping the files' sha256 between runs (keyed by path, size and times), "
                        "so the identity check does not rehash an unchanged folder; default: none (hash "
                        "every file). A run keeps its own in <out>/.cache/file-hashes.json")

    rp = parser("report", "regenerate leaderboard.md from result files")
    rp.add_argument("--runs", nargs="+", help="run folders (default: every finished run under --out, oldest first)")
    rp.add_argument("--out", help="results folder (default results/)")
    rp.add_argument("--leaderboard", help="file to write (default leaderboard.md)")
    rp.add_argument("--check", metavar="FILE", help="do not write; exit 1 when FILE's quality tables differ "
                                                   "from the regenerated ones (measured blocks are ignored)")

    pf = parser("profile", "params, FLOPs, latency and peak memory (efficiency table)")
    pf.add_argument("--config", help="YAML or TOML file with ProfileConfig fields (options override it)")
    pf.add_argument("--fusers", nargs="+", help="registered fuser names")
    pf.add_argument("--size", help="WIDTHxHEIGHT (default 640x480)")
    pf.add_argument("--runs", help="timed runs (default 10)")
    pf.add_argument("--warmup", help="warm-up runs, not timed (default 2)")
    _add_fuser_options(pf)
    pf.add_argument("--no-flops", dest="flops", action="store_const", const=False, help="skip FLOP counting")
    pf.add_argument("--in-process", dest="in_process", action="store_const", const=True,
                    help="measure in this process (CPU peak memory then includes everything loaded before)")

    parser("train", "train a fuser: python -m benchmark train NAME --help").add_argument(
        "rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


def _execute(argv: list[str]) -> tuple[ExitCode, str, str]:
    """Run one command; returns (exit code, stdout text, stderr text)."""
    from . import config as c

    if argv and argv[0] == "train":
        from .train import format_training, parse_train_args, train_fuser

        return ExitCode.OK, format_training(train_fuser(parse_train_args(argv[1:]))), ""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from .api import run

        cfg = c.RunConfig.from_sources(args.config, _given(args, c.RunConfig.field_names()))
        outcome = run(cfg)
    elif args.command == "profile":
        from .efficiency import profile_fusers

        cfg = c.ProfileConfig.from_sources(args.config, _given(args, c.ProfileConfig.field_names()))
        outcome = profile_fusers(cfg)
    elif args.command == "report":
        from .api import build_report

        outcome = build_report(c.ReportConfig.from_dict(_given(args, c.ReportConfig.field_names())))
    elif args.command == "validate":
        from .api import validate_datasets

        outcome = validate_datasets(c.ValidateConfig.from_dict(_given(args, c.ValidateConfig.field_names())))
    elif args.command == "ls":
        from .listing import list_registered

        return ExitCode.OK, list_registered(c.LsConfig.from_dict(_given(args, c.LsConfig.field_names()))), ""
    else:
        raise UsageError(f"unknown command {args.command!r}")
    return outcome.exit_code, outcome.summary(), outcome.problems()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmark`` / ``ivif-bench``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code, out, err = _execute(argv)
    except (Exception, KeyboardInterrupt) as exc:
        known = classify(exc)
        if known is None:
            raise
        code, message = known
        if code == ExitCode.ENVIRONMENT and argv[:1] == ["run"]:
            message += "; finished pairs are cached, so rerunning the same command resumes"
        print(message, file=sys.stderr)
        return int(code)
    if out:
        print(out)
    if err:
        print(err, file=sys.stderr)
    return int(code)
