"""What the API functions return: one outcome type per subcommand, each with its exit code and the
text the CLI prints (so the CLI itself only parses, calls and prints)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ExitCode


@dataclass
class PairOutcome:
    dataset: str
    fuser: str
    pair: str
    status: str                                     # "ok", "failed", "missing"
    message: str = ""
    latency_s: float | None = None
    values: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)   # convention -> metric -> {value, ...}
    fused_path: Path | None = None
    cached: bool = False                            # the fused image came from the cache (not fused in this run)
    hardware: dict[str, Any] | None = None          # where latency_s was measured (None: not recorded)
    metrics_cached: bool = False                    # every metric value came from the cache (none computed)
    traceback: str | None = None                    # a failed pair: the full traceback, when there is one
    metric_s: float | None = None                   # wall / CPU seconds of the metric work in its worker, and
    metric_cpu_s: float | None = None               # the worker (host:pid); None when nothing was computed
    worker: str | None = None
    batch_size: int | None = None                   # pairs fused in the call latency_s comes from (None: not recorded)


@dataclass
class RunOutcome:
    """Everything a run produced; the result files hold the same (``files``)."""

    config: Any                                     # the validated RunConfig
    run_dir: Path
    outcomes: list[PairOutcome]
    datasets: dict[str, dict[str, Any]]             # key -> {title, official_count, pairs, complete, split}
    fusers: dict[str, dict[str, Any]]               # name -> fuser config / metadata
    unmatched: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # folder files matching no pair
    efficiency: list[dict[str, Any]] = field(default_factory=list)            # run --profile records
    plots: dict[str, dict[str, str]] = field(default_factory=dict)            # dataset -> {label: png path}
    files: dict[str, Path] = field(default_factory=dict)                      # result files written
    leaderboard: Path | None = None                                           # leaderboard written, if any
    warnings: list[dict[str, Any]] = field(default_factory=list)              # data warnings (summary.json)

    @property
    def failures(self) -> list[PairOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def missing(self) -> list[PairOutcome]:
        return [o for o in self.outcomes if o.status == "missing"]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.failures or self.missing else ExitCode.OK

    def summary(self) -> str:
        """What ``run`` prints on stdout."""
        ok = [o for o in self.outcomes if o.status == "ok"]
        n_cached = sum(o.cached and o.metrics_cached for o in ok)
        reuse = (f"fused images reused {sum(o.cached for o in ok)}, metric values all reused "
                 f"{sum(o.metrics_cached for o in ok)}")
        lines = [f"results: {self.run_dir}/ ({len(ok)} pair results, {n_cached} from cache ({reuse}); "
                 f"per_image.csv, summary.csv, summary.json, config.json, fused/{', plots/' if self.plots else ''})"]
        if self.leaderboard is not None:
            lines.append(f"leaderboard: {self.leaderboard}")
        if self.missing:
            lines.append(f"missing: {len(self.missing)} pair(s) without a fused image in a result folder "
                         f"(listed in summary.json and the leaderboard)")
        return "\n".join(lines)

    def problems(self) -> str:
        """What ``run`` prints on stderr ("" when every pair succeeded)."""
        if not self.failures:
            return ""
        first = self.failures[0]
        return (f"FAILED: {len(self.failures)} pair(s); first: {first.dataset}/{first.fuser}/{first.pair}: "
                f"{first.message}")


@dataclass
class ProfileOutcome:
    records: list[Any]                              # EfficiencyRecord
    table: str                                      # the efficiency table (Markdown, with its caption)
    reported: str                                   # the papers' own figures, never mixed with the table

    exit_code = ExitCode.OK

    def summary(self) -> str:
        return f"{self.table}\n\n{self.reported}"

    def problems(self) -> str:
        return ""


@dataclass
class ReportOutcome:
    runs: list[Path]
    target: Path                                    # the leaderboard written, or the file checked
    checked: bool = False
    stale: bool = False
    diff: str = ""

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.stale else ExitCode.OK

    def summary(self) -> str:
        if not self.checked:
            return f"leaderboard: {self.target} (from {len(self.runs)} run(s))"
        if self.stale:
            return ""
        return f"{self.target}: quality tables up to date ({len(self.runs)} run(s))"

    def problems(self) -> str:
        if not self.stale:
            return ""
        return f"{self.target} is stale: its quality tables differ from the regenerated ones:\n{self.diff}"


@dataclass
class ValidateOutcome:
    data_root: Path
    reports: list[Any]                              # datasets.ValidationReport, one per dataset
    text: str

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if any(r.found and not r.ok for r in self.reports) else ExitCode.OK

    def summary(self) -> str:
        return self.text

    def problems(self) -> str:
        return ""
