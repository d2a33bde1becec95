"""One validated run configuration, built from CLI arguments or a YAML/TOML file, saved with results."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import models

from .datasets import get_dataset
from .fusers import check_token, load_entry_point_fusers

DEFAULT_CONVENTION = "tang2023"


class ConfigError(ValueError):
    """An invalid configuration value; the message names the field, what was expected and what arrived."""


def default_data_root() -> str:
    return os.environ.get("FUSION_DATA") or "./data"


def default_fusers() -> list[str]:
    """Every registered fuser that needs no weights, except the tiny test-size networks."""
    load_entry_point_fusers()
    return [n for n in models.list_fusers(needs_weights=False) if "tiny" not in models.fuser_spec(n).tags]


def all_metric_keys() -> list[str]:
    import metrics

    return list(metrics.METRICS)


@dataclass
class RunConfig:
    """Everything that determines a run. ``validate()`` checks every name against the registries."""

    datasets: list[str] = field(default_factory=lambda: ["synthetic"])
    fusers: list[str] | None = None           # None -> default_fusers()
    metrics: list[str] | None = None          # None -> all 12, in the papers' order
    convention: str = DEFAULT_CONVENTION
    data_root: str = field(default_factory=default_data_root)
    out: str = "results"
    run_id: str | None = None                 # None -> derived from the config (reruns resume)
    jobs: int = 1
    limit: int | None = None
    device: str = "cpu"
    fuser_args: dict[str, dict[str, Any]] = field(default_factory=dict)   # {"*" or fuser: {k: v}}
    checkpoints: dict[str, str] = field(default_factory=dict)             # {fuser: path}
    profile: bool = False
    profile_runs: int = 5
    plots: bool = True
    leaderboard: str | None = "leaderboard.md"
    progress: bool = True

    # ------------------------------------------------------------------ validation
    def validate(self) -> "RunConfig":
        import metrics

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
        if self.metrics is None:
            self.metrics = list(metrics.METRICS)
        self.metrics = [metrics.get_metric(m).key for m in self.metrics]
        metrics.get_convention(self.convention)
        if not isinstance(self.jobs, int) or self.jobs < 1:
            raise ConfigError(f"jobs: expected an integer ≥ 1, got {self.jobs!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise ConfigError(f"limit: expected an integer ≥ 1 or none, got {self.limit!r}")
        if not isinstance(self.device, str) or not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"device: expected 'cpu' or 'cuda[:N]', got {self.device!r}")
        if self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ConfigError(f"device: {self.device!r} requested but torch.cuda.is_available() is False")
        for name, path in self.checkpoints.items():
            if not Path(path).is_file():
                raise ConfigError(f"checkpoint for {name!r}: no such file {path}")
        for d in (self.fuser_args or {}):
            if d != "*" and d not in self.fusers:
                raise ConfigError(f"fuser_args: {d!r} is not among the fusers of this run {self.fusers}")
        return self

    def kwargs_for(self, token: str) -> dict[str, Any]:
        kw = dict(self.fuser_args.get("*", {}))
        kw.update(self.fuser_args.get(token, {}))
        if token in self.checkpoints:
            kw["checkpoint"] = self.checkpoints[token]
        return kw

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resolved_run_id(self) -> str:
        """The run id; by default a hash of what determines the results, so a rerun resumes in place."""
        if self.run_id:
            return self.run_id
        ident = {k: getattr(self, k) for k in ("datasets", "fusers", "metrics", "convention", "limit",
                                                 "fuser_args", "checkpoints")}
        ident["data_root"] = str(Path(self.data_root).resolve())
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return f"run-{digest}"

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        """Load a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file whose keys are the field names."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path}: no such file")
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {path}: expected .yaml, .yml or .toml, got {path.suffix!r}")
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: expected a mapping of field names, got {type(data).__name__}")
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "config") -> "RunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = [k for k in data if k.replace("-", "_") not in names]
        if unknown:
            import difflib

            hints = [f"{u!r} (did you mean {difflib.get_close_matches(u.replace('-', '_'), names, 1)[0]!r}?)"
                     if difflib.get_close_matches(u.replace('-', '_'), names, 1) else repr(u) for u in unknown]
            raise ConfigError(f"{origin}: unknown field(s) {', '.join(hints)}; known: {sorted(names)}")
        return cls(**{k.replace("-", "_"): v for k, v in data.items()})
