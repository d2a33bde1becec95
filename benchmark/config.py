"""One validated config dataclass per subcommand: what a run, a profile, a report, a validation, a
listing or a training job does. The CLI parses its arguments into these; the Python API takes them
(``benchmark.run(benchmark.RunConfig(...))``). Values parse alike from every source
(:mod:`benchmark.configbase`); ``validate()`` checks names against the registries (with "did you mean")
and ranges, and fills the defaults that depend on them.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics import DEFAULT_CONVENTION

from .configbase import ConfigBase, coerce
from .config_values import (
    check_checkpoints,
    check_device,
    check_execution,
    check_metrics_names,
    check_output_path,
    check_positive,
    check_targets,
    checkpoints_field,
    fuser_args_field,
    fuser_kwargs,
    parse_conventions,
    parse_progress,
    parse_slurm)
from .errors import ConfigError

__all__ = ["RunConfig", "ProfileConfig", "ReportConfig", "ValidateConfig", "LsConfig", "TrainJobConfig",
           "ConfigError", "DEFAULT_CONVENTION", "default_data_root", "default_fusers", "fuser_kwargs"]


def default_data_root() -> str:
    """``$FUSION_DATA`` when set, else ``./data``."""
    return os.environ.get("FUSION_DATA") or "./data"


def default_fusers() -> list[str]:
    """Every registered fuser that needs no weights, except the tiny test-size networks."""
    import models

    from .fusers import load_entry_point_fusers

    load_entry_point_fusers()
    return [n for n in models.list_fusers(needs_weights=False) if "tiny" not in models.fuser_spec(n).tags]


# ------------------------------------------------------------------------------ run
@dataclass
class RunConfig(ConfigBase):
    """Everything a run does: which datasets × fusers × metrics under which convention, and what to
    write (result files always; plots, the leaderboard and efficiency figures as asked)."""

    datasets: list[str] = field(default_factory=lambda: ["synthetic"])
    fusers: list[str] | None = None           # None -> default_fusers()
    metrics: list[str] | None = None          # None -> all 12, in the papers' order
    # the metric conventions, each evaluated on every triplet (config file / CLI: ``convention``,
    # one name, a list, or "all")
    conventions: list[str] = field(default_factory=lambda: [DEFAULT_CONVENTION],
                                   metadata={"parse": parse_conventions})
    data_root: str = field(default_factory=default_data_root)
    out: str = "results"
    run_id: str | None = None                 # None -> derived from the config (reruns resume)
    jobs: int = 1
    limit: int | None = None
    device: str = "cpu"
    fuser_args: dict[str, dict[str, Any]] = fuser_args_field()   # {"*" or fuser: {k: v}}
    checkpoints: dict[str, str] = checkpoints_field()            # {fuser: path}
    profile: bool = False                     # also measure params, FLOPs, latency, peak memory
    profile_runs: int = 5
    plots: bool = True                        # PNG figures under <run>/plots/
    leaderboard: str | None = "leaderboard.md"   # None: do not write one
    progress: bool | None = field(default=None, metadata={"parse": parse_progress})  # None: when stderr is a tty
    # where the metrics are computed (none of these changes a number, so none is part of the run id)
    executor: str | None = None               # serial|local|dask|slurm; None: serial for jobs=1, else local
    scheduler: str | None = None              # dask: address of a running scheduler (tcp://host:8786)
    max_in_flight: int | None = None          # pairs submitted and not finished, at most (None: 2 × workers)
    batch_size: int = 1                       # same-size pairs fused in one call (torch fusers on their device)
    slurm: Any = field(default=None, metadata={"parse": parse_slurm})   # engine.SlurmConfig, for executor slurm

    @classmethod
    def from_dict(cls, data, origin: str = "config"):
        """As :meth:`ConfigBase.from_dict`; the key ``convention`` (config files, ``--convention``)
        fills :attr:`conventions`."""
        data = {str(k).replace("-", "_"): v for k, v in data.items()} if isinstance(data, dict) else data
        if isinstance(data, dict) and "convention" in data:
            if "conventions" in data:
                raise ConfigError(f"{origin}: give 'convention' or 'conventions', not both")
            data["conventions"] = data.pop("convention")
        return super().from_dict(data, origin)

    @property
    def convention(self) -> str:
        """The first of :attr:`conventions` (for code that handles one convention)."""
        return self.conventions[0]

    def resolved_executor(self) -> str:
        """The executor kind: as configured, else ``serial`` for ``jobs == 1`` and ``local`` otherwise."""
        return self.executor or ("serial" if self.jobs == 1 else "local")

    def validate(self) -> "RunConfig":
        """Check every value (names against the registries) and fill the defaults; returns self."""
        from .datasets import get_dataset
        from .fusers import check_token, load_entry_point_fusers

        self.coerce()
        if not self.datasets:
            raise ConfigError("datasets: expected at least one dataset name, got none")
        for d in self.datasets:
            get_dataset(d)                    # UnknownNameError with suggestion
        load_entry_point_fusers()
        if self.fusers is None:
            self.fusers = default_fusers()
        if not self.fusers:
            raise ConfigError("fusers: expected at least one fuser, got none")
        for f in self.fusers:
            check_token(f)
        check_metrics_names(self)
        check_positive("jobs", self.jobs)
        check_execution(self)
        check_positive("limit", self.limit, allow_none=True)
        check_positive("profile_runs", self.profile_runs, minimum=2)
        check_device(self.device)
        check_targets(self)
        check_checkpoints(self.checkpoints)
        check_output_path(self.out, folder=True)
        if self.leaderboard:
            check_output_path(self.leaderboard, folder=False)
        return self

    def kwargs_for(self, token: str) -> dict[str, Any]:
        return fuser_kwargs(self.fuser_args, self.checkpoints, token)

    def resolved_run_id(self) -> str:
        """The run id; by default a hash of what determines the results, so a rerun resumes in place."""
        if self.run_id:
            return self.run_id
        ident = {k: getattr(self, k) for k in ("datasets", "fusers", "metrics", "limit", "fuser_args", "checkpoints")}
        # one convention: the string, as before several were possible (run ids of earlier runs stay valid)
        ident["convention"] = self.conventions[0] if len(self.conventions) == 1 else list(self.conventions)
        ident["data_root"] = str(Path(self.data_root).resolve())
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return f"run-{digest}"


# ------------------------------------------------------------------------------ profile
def _parse_size(value: Any, cfg: Any) -> tuple[int, int]:
    from .profiling import parse_size

    try:
        return parse_size(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"size: {exc}") from None


@dataclass
class ProfileConfig(ConfigBase):
    """``profile``: parameters, FLOPs, latency and peak memory of registered fusers."""

    fusers: list[str] | None = None
    size: tuple[int, int] = field(default=(640, 480), metadata={"parse": _parse_size})   # (W, H)
    device: str = "cpu"
    runs: int = 10
    warmup: int = 2
    fuser_args: dict[str, dict[str, Any]] = fuser_args_field()
    checkpoints: dict[str, str] = checkpoints_field()
    flops: bool = True
    in_process: bool = False    # measure in this process (CPU peak memory then includes everything loaded)

    def validate(self) -> "ProfileConfig":
        import models

        from .fusers import load_entry_point_fusers

        self.coerce()
        if not self.fusers:
            raise ConfigError("fusers: expected at least one registered fuser name, got none")
        load_entry_point_fusers()
        for name in self.fusers:
            models.fuser_spec(name)           # did-you-mean before any work
        check_positive("runs", self.runs, minimum=2)
        check_positive("warmup", self.warmup, minimum=0)
        check_device(self.device)
        check_targets(self)
        check_checkpoints(self.checkpoints)
        return self

    def kwargs_for(self, name: str) -> dict[str, Any]:
        return fuser_kwargs(self.fuser_args, self.checkpoints, name)


# ------------------------------------------------------------------------------ report, validate, ls
@dataclass
class ReportConfig(ConfigBase):
    """``report``: regenerate the leaderboard from result folders, or check a committed one."""

    runs: list[str] | None = None             # None: every finished run under `out`, oldest first
    out: str = "results"
    leaderboard: str = "leaderboard.md"
    check: str | None = None                  # compare this file's quality tables instead of writing

    def validate(self) -> "ReportConfig":
        self.coerce()
        if not self.check:
            check_output_path(self.leaderboard, folder=False)
        return self


@dataclass
class ValidateConfig(ConfigBase):
    """``validate``: which datasets are below a data root, pair counts, unpaired/unreadable files."""

    data_root: str = field(default_factory=default_data_root)
    datasets: list[str] | None = None         # None: every registered dataset
    decode: bool = True                       # False: read image headers only (faster)
    hash_cache: str | None = None             # JSON file keeping file sha256s between runs; None: memory only

    def validate(self) -> "ValidateConfig":
        from .datasets import get_dataset

        self.coerce()
        if self.hash_cache is not None and Path(self.hash_cache).is_dir():
            raise ConfigError(f"hash_cache: expected the path of a JSON file, got the folder {self.hash_cache}")
        for d in self.datasets or []:
            get_dataset(d)
        return self


@dataclass
class LsConfig(ConfigBase):
    """``ls``: what is registered (all four sections when none is asked for)."""

    datasets: bool = False
    fusers: bool = False
    metrics: bool = False
    conventions: bool = False
    verbose: bool = False

    def validate(self) -> "LsConfig":
        self.coerce()
        return self


# ------------------------------------------------------------------------------ train
@dataclass
class TrainJobConfig(ConfigBase):
    """``train``: train a registered trainable fuser on a dataset.

    ``trainer_args`` are fields of the trainer's own config dataclass (``models.training.TrainConfig``
    and the model's subclass: ``epochs``, ``batch_size``, ``crop``, ``lr``, ...), coerced to their types.
    """

    fuser: str = ""
    dataset: str = ""
    out: str = ""
    data_root: str = field(default_factory=default_data_root)
    resume: bool = False
    device: str | None = None                 # None: cuda when available (under torchrun cuda:LOCAL_RANK)
    limit: int | None = None
    progress: bool | None = field(default=None, metadata={"parse": parse_progress})
    trainer_args: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> "TrainJobConfig":
        import dataclasses
        import typing

        import models

        from .datasets import get_dataset

        self.coerce()
        for name in ("fuser", "dataset", "out"):
            if not getattr(self, name):
                raise ConfigError(f"{name}: required, got nothing")
        config_cls = models.trainer_class(self.fuser).config_class   # UnknownNameError with suggestion
        get_dataset(self.dataset)
        check_positive("limit", self.limit, allow_none=True)
        if self.device is not None:
            check_device(self.device)
        hints = typing.get_type_hints(config_cls)
        known = {f.name for f in dataclasses.fields(config_cls)}
        for key, value in list(self.trainer_args.items()):
            if key not in known:
                raise ConfigError(f"trainer_args: {self.fuser} has no option {key!r}; known: {sorted(known)}")
            self.trainer_args[key] = coerce(value, hints[key], key)
        return self

    def trainer_config(self):
        """The trainer's config dataclass with ``trainer_args`` applied (call :meth:`validate` first)."""
        import models

        return models.trainer_class(self.fuser).config_class(**self.trainer_args)
