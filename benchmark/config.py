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


# ------------------------------------------------------------------------------ shared field parsers
def parse_fuser_args(value: Any, cfg: Any = None) -> dict[str, dict[str, Any]]:
    """``{"*" or fuser: {key: value}}`` from a mapping, or from ``[FUSER.]KEY=VALUE`` strings.

    In the string form (``--fuser-arg``), ``KEY=VALUE`` applies to every fuser and ``FUSER.KEY=VALUE``
    to one; values are parsed as YAML scalars (``3``, ``0.5``, ``true``, ``[1, 2]``), else kept as strings.
    """
    import yaml

    if value is None:
        return {}
    if isinstance(value, dict):
        out: dict[str, dict[str, Any]] = {}
        for target, kwargs in value.items():
            if not isinstance(kwargs, dict):
                raise ConfigError(f"fuser_args[{target!r}]: expected a mapping of keyword arguments, got "
                                  f"{type(kwargs).__name__} {kwargs!r} (write {{'*': {{{target!r}: ...}}}} for "
                                  f"every fuser, or 'key=value' strings)")
            out[str(target)] = {str(k): v for k, v in kwargs.items()}
        return out
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"fuser_args: expected a mapping or 'key=value' strings, got {type(value).__name__} {value!r}")
    out = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"fuser_args: expected key=value or fuser.key=value, got {item!r}")
        key, raw = item.split("=", 1)
        target = "*"
        if "." in key:
            target, key = key.rsplit(".", 1)
        try:
            parsed = yaml.safe_load(raw)
        except yaml.YAMLError:
            parsed = raw        # not a YAML scalar: the text as typed
        out.setdefault(target, {})[key] = parsed
    return out


def parse_checkpoints(value: Any, cfg: Any) -> dict[str, str]:
    """``{fuser: path}`` from a mapping, or from ``[FUSER=]PATH`` strings (FUSER may be omitted when
    the config has one fuser)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return coerce(value, dict[str, str], "checkpoints")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"checkpoints: expected a mapping or [FUSER=]PATH strings, got {type(value).__name__} {value!r}")
    fusers = getattr(cfg, "fusers", None)
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"checkpoints: expected [FUSER=]PATH strings, got {type(item).__name__} {item!r}")
        name, sep, path = item.partition("=")
        if sep and not Path(item).exists():
            out[name] = path
        elif fusers and len(fusers) == 1:
            out[fusers[0]] = item
        else:
            raise ConfigError(f"checkpoints: {item!r}: with several fusers write FUSER=PATH")
    return out


def parse_conventions(value: Any, cfg: Any) -> list[str]:
    """A list of convention names from one name, a list of names, or ``"all"`` (every registered
    convention, in the registry's order); duplicates are dropped, the order kept. Names are checked
    against the registry by :meth:`RunConfig.validate`."""
    import metrics

    names = coerce([value] if isinstance(value, str) else value, list[str], "convention")
    if any(n.strip().lower() == "all" for n in names):
        if len(names) > 1:
            raise ConfigError(f"convention: 'all' stands alone, got {names}")
        return list(metrics.CONVENTIONS)
    return list(dict.fromkeys(names))


def parse_slurm(value: Any, cfg: Any):
    """The ``slurm:`` section (a mapping of :class:`benchmark.engine.SlurmConfig` fields) or None."""
    import dataclasses

    from .engine import SlurmConfig

    if value is None or isinstance(value, SlurmConfig):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"slurm: expected a mapping (cores, memory, walltime, queue, jobs, ...), "
                          f"got {type(value).__name__} {value!r}")
    known = [f.name for f in dataclasses.fields(SlurmConfig)]
    unknown = [k for k in value if k not in known]
    if unknown:
        raise ConfigError(f"slurm: unknown key(s) {unknown}; known: {known}")
    try:
        return SlurmConfig(**value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def parse_progress(value: Any, cfg: Any) -> bool | None:
    """True/False, or None (also "auto"): progress bars when stderr is a terminal."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    return coerce(value, bool | None, "progress")


def fuser_kwargs(fuser_args: dict[str, dict[str, Any]], checkpoints: dict[str, str], token: str) -> dict[str, Any]:
    """Keyword arguments for fuser ``token``: the ``"*"`` ones, its own on top, and its checkpoint."""
    kw = dict(fuser_args.get("*", {}))
    kw.update(fuser_args.get(token, {}))
    if token in checkpoints:
        kw["checkpoint"] = checkpoints[token]
    return kw


def _check_positive(name: str, value: int | None, minimum: int = 1, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value < minimum:
        raise ConfigError(f"{name}: expected an integer ≥ {minimum}{' or none' if allow_none else ''}, got {value!r}")


def _check_device(device: str) -> None:
    d = device.strip().lower()
    if not (d == "cpu" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
        raise ConfigError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if d.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"device: {device!r} requested but torch.cuda.is_available() is False")


def _check_checkpoints(checkpoints: dict[str, str]) -> None:
    """Every checkpoint exists and is a complete weights file (in a folder: every weights file in it)."""
    from models.weights_files import WEIGHTS_SUFFIXES, WeightsFileError, check_weights_file

    for name, path in checkpoints.items():
        p = Path(path).expanduser()
        if not p.exists():
            raise ConfigError(f"checkpoints: {name!r}: no such file or folder {path}")
        files = sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(WEIGHTS_SUFFIXES)) if p.is_dir() else [p]
        for f in files:
            try:
                check_weights_file(f)
            except WeightsFileError as exc:
                raise ConfigError(f"checkpoints: {name!r}: {exc}") from None


def check_output_path(path: str | Path, *, folder: bool) -> None:
    """Before any work: ``path`` (a folder to create or fill, or a file to write) can be written.

    Raises the OSError the write would raise later (ENOTDIR when a part of the path is a file, EISDIR
    for a file path that is a folder, EROFS/EACCES for a read-only or unwritable location), naming
    the path; the CLI maps it to one ``error:`` line and exit code 3.
    """
    import errno

    p = Path(path).expanduser().absolute()
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == p and folder and not p.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(p))
    if existing == p and not folder and p.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(p))
    if existing != p and not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    where = existing if existing.is_dir() else existing.parent
    if hasattr(os, "statvfs") and os.statvfs(where).f_flag & os.ST_RDONLY:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(where))
    if not os.access(where, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(where))


def _check_targets(cfg: Any) -> None:
    """``fuser_args`` / ``checkpoints`` keys name fusers of this config (did you mean, when not)."""
    from ivif_toolbox import UnknownNameError

    for field_name, targets in (("fuser_args", [t for t in cfg.fuser_args if t != "*"]),
                                ("checkpoints", list(cfg.checkpoints))):
        for t in targets:
            if t not in cfg.fusers:
                raise ConfigError(f"{field_name}: {UnknownNameError('fuser of this run', t, list(cfg.fusers))}")


def _check_metrics_names(cfg: "RunConfig") -> None:
    import metrics

    try:
        if cfg.metrics is None:
            cfg.metrics = list(metrics.METRICS)
        cfg.metrics = [metrics.get_metric(m).key for m in cfg.metrics]
    except metrics.UnknownMetricError as exc:
        raise ConfigError(f"metrics: {exc}") from None
    if not cfg.conventions:
        raise ConfigError("convention: expected at least one convention name (or 'all'), got none")
    try:
        cfg.conventions = [metrics.get_convention(c).name for c in cfg.conventions]
    except metrics.UnknownConventionError as exc:
        raise ConfigError(f"convention: {exc}") from None


def _check_execution(cfg: "RunConfig") -> None:
    from .engine import EXECUTOR_KINDS

    if cfg.executor is not None and cfg.executor not in EXECUTOR_KINDS:
        from ivif_toolbox import UnknownNameError

        raise UnknownNameError("executor", cfg.executor, list(EXECUTOR_KINDS))
    kind = cfg.resolved_executor()
    _check_positive("batch_size", cfg.batch_size)
    _check_positive("max_in_flight", cfg.max_in_flight, allow_none=True)
    if kind == "dask" and not cfg.scheduler:
        raise ConfigError("scheduler: the dask executor needs the address of a running scheduler "
                          "(--scheduler tcp://HOST:8786)")
    if kind != "dask" and cfg.scheduler:
        raise ConfigError(f"scheduler: applies to the dask executor only (executor is {kind!r})")
    if kind == "slurm" and cfg.slurm is None:
        raise ConfigError("slurm: the slurm executor needs a 'slurm:' section in the config file "
                          "(cores, memory, walltime, queue, jobs)")
    if kind != "slurm" and cfg.slurm is not None:
        raise ConfigError(f"slurm: the 'slurm:' section applies to the slurm executor only (executor is {kind!r})")


def _fuser_args_field() -> Any:
    return field(default_factory=dict, metadata={"parse": parse_fuser_args})


def _checkpoints_field() -> Any:
    return field(default_factory=dict, metadata={"parse": parse_checkpoints})


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
    fuser_args: dict[str, dict[str, Any]] = _fuser_args_field()   # {"*" or fuser: {k: v}}
    checkpoints: dict[str, str] = _checkpoints_field()            # {fuser: path}
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
        _check_metrics_names(self)
        _check_positive("jobs", self.jobs)
        _check_execution(self)
        _check_positive("limit", self.limit, allow_none=True)
        _check_positive("profile_runs", self.profile_runs, minimum=2)
        _check_device(self.device)
        _check_targets(self)
        _check_checkpoints(self.checkpoints)
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
    fuser_args: dict[str, dict[str, Any]] = _fuser_args_field()
    checkpoints: dict[str, str] = _checkpoints_field()
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
        _check_positive("runs", self.runs, minimum=2)
        _check_positive("warmup", self.warmup, minimum=0)
        _check_device(self.device)
        _check_targets(self)
        _check_checkpoints(self.checkpoints)
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
        _check_positive("limit", self.limit, allow_none=True)
        if self.device is not None:
            _check_device(self.device)
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
