"""Parsing and checking of config values shared by the subcommands' dataclasses
(:mod:`benchmark.config`): fuser keyword arguments, checkpoints, conventions, the Slurm section, the
progress switch, positive counts, devices, output paths, metric/convention names and the executor
settings. Each parser takes a value as it arrives from the command line, a YAML/TOML file or Python
and returns the field's value or raises :class:`~benchmark.errors.ConfigError` naming the field.
"""
from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .configbase import coerce
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import RunConfig


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


def check_positive(name: str, value: int | None, minimum: int = 1, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value < minimum:
        raise ConfigError(f"{name}: expected an integer ≥ {minimum}{' or none' if allow_none else ''}, got {value!r}")


def check_device(device: str) -> None:
    d = device.strip().lower()
    if not (d == "cpu" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
        raise ConfigError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if d.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"device: {device!r} requested but torch.cuda.is_available() is False")


def check_checkpoints(checkpoints: dict[str, str]) -> None:
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


def check_targets(cfg: Any) -> None:
    """``fuser_args`` / ``checkpoints`` keys name fusers of this config (did you mean, when not)."""
    from ivif_toolbox import UnknownNameError

    for field_name, targets in (("fuser_args", [t for t in cfg.fuser_args if t != "*"]),
                                ("checkpoints", list(cfg.checkpoints))):
        for t in targets:
            if t not in cfg.fusers:
                raise ConfigError(f"{field_name}: {UnknownNameError('fuser of this run', t, list(cfg.fusers))}")


def check_metrics_names(cfg: "RunConfig") -> None:
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


def check_execution(cfg: "RunConfig") -> None:
    from .engine import EXECUTOR_KINDS

    if cfg.executor is not None and cfg.executor not in EXECUTOR_KINDS:
        from ivif_toolbox import UnknownNameError

        raise UnknownNameError("executor", cfg.executor, list(EXECUTOR_KINDS))
    kind = cfg.resolved_executor()
    check_positive("batch_size", cfg.batch_size)
    check_positive("max_in_flight", cfg.max_in_flight, allow_none=True)
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


def fuser_args_field() -> Any:
    return field(default_factory=dict, metadata={"parse": parse_fuser_args})


def checkpoints_field() -> Any:
    return field(default_factory=dict, metadata={"parse": parse_checkpoints})
