"""The benchmark harness: fuse and evaluate datasets × fusers with exact metrics, cache per-pair
results (resumable), write result files with provenance and regenerate ``leaderboard.md``.

Python API (the CLI, ``python -m benchmark``, calls the same functions)::

    import benchmark
    outcome = benchmark.run(benchmark.RunConfig(datasets=["msrs"], fusers=["gff", "mean"], data_root="data"))
    outcome.run_dir, outcome.failures, outcome.leaderboard

One config dataclass per subcommand, one function each:

=====================  =============================  =====================================
subcommand             config                         function -> outcome
=====================  =============================  =====================================
``run``                :class:`RunConfig`             :func:`run` -> ``RunOutcome``
``profile``            :class:`ProfileConfig`         :func:`profile_fusers` -> ``ProfileOutcome``
``report``             :class:`ReportConfig`          :func:`build_report` -> ``ReportOutcome``
``validate``           :class:`ValidateConfig`        :func:`validate_datasets` -> ``ValidateOutcome``
``ls``                 :class:`LsConfig`              :func:`list_registered` -> ``str``
``train``              :class:`TrainJobConfig`        :func:`train_fuser` -> ``dict``
=====================  =============================  =====================================

Exit codes of the CLI: :class:`ExitCode` (:mod:`benchmark.errors`). Names are imported on first use,
so ``import benchmark`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": ".api", "build_report": ".api", "validate_datasets": ".api",
    "profile_fusers": ".efficiency", "list_registered": ".listing", "train_fuser": ".train",
    "RunConfig": ".config", "ProfileConfig": ".config", "ReportConfig": ".config", "ValidateConfig": ".config",
    "LsConfig": ".config", "TrainJobConfig": ".config",
    "RunOutcome": ".outcomes", "PairOutcome": ".outcomes", "ProfileOutcome": ".outcomes",
    "ReportOutcome": ".outcomes", "ValidateOutcome": ".outcomes",
    "ExitCode": ".errors", "ConfigError": ".errors", "InputError": ".errors", "UsageError": ".errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
