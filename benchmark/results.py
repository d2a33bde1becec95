"""Result files of a run, with provenance: ``config.json``, ``per_image.csv``, ``summary.csv``/``.json``."""
from __future__ import annotations

import math
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ivif_toolbox import atomic_write_json, atomic_write_text

from .hardware import hardware_info

PER_IMAGE_COLUMNS = ["dataset", "fuser", "pair", "metric", "convention", "value", "units", "effective_source",
                     "version", "error"]
#: the pair bookkeeping of a summary row, after the original columns (whose meaning is unchanged:
#: ``count`` = defined values, ``failures`` = failed fusions + undefined values): ``pairs`` = the
#: dataset's pair set of the run, ``fusion_failures`` = pairs whose fusion (or image reading) failed,
#: ``missing_fused`` = pairs without a fused image in a result folder, ``undefined`` = fused pairs on
#: which the metric refused the images or was NaN. ``count + fusion_failures + missing_fused +
#: undefined == pairs`` on every row.
COUNT_COLUMNS = ["pairs", "fusion_failures", "missing_fused", "undefined"]
SUMMARY_COLUMNS = ["dataset", "fuser", "metric", "convention", "mean", "std", "count", "failures", "units",
                   *COUNT_COLUMNS]


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for dist in ("ivif-harness", "numpy", "scipy", "torch", "scikit-image", "pandas", "opencv-python-headless",
                 "pillow", "joblib", "safetensors", "PyWavelets", "matplotlib"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def git_commit() -> dict[str, Any]:
    repo = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if sha.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def per_image_frame(outcome) -> pd.DataFrame:
    rows = []
    for o in outcome.outcomes:
        if o.status != "ok":
            continue
        for conv, values in o.values.items():
            for m, v in values.items():
                rows.append({"dataset": o.dataset, "fuser": o.fuser, "pair": o.pair, "metric": m,
                             "convention": conv, "value": v["value"], "units": v["units"],
                             "effective_source": v["effective_source"], "version": v["version"], "error": v["error"]})
    return pd.DataFrame(rows, columns=PER_IMAGE_COLUMNS)


def summary_frame(per_image: pd.DataFrame, outcome) -> pd.DataFrame:
    """Mean ± sample std (ddof=1) and count of the defined values per dataset × fuser × metric ×
    convention (the conventions of a run one after the other), with the pair bookkeeping of
    :data:`COUNT_COLUMNS`.

    Every fuser of the run gets a row per metric, also one that failed (or has no fused image) on
    every pair (count 0, mean and std NaN), so that no fuser disappears from the tables.
    """
    status: dict[tuple[str, str], dict[str, int]] = {}
    for o in outcome.outcomes:
        per = status.setdefault((o.dataset, o.fuser), {"ok": 0, "failed": 0, "missing": 0})
        per[o.status] = per.get(o.status, 0) + 1
    groups = {key: g for key, g in per_image.groupby(["dataset", "fuser", "metric", "convention"], sort=False)}
    cfg = outcome.config
    conventions = list(dict.fromkeys([*cfg.conventions, *per_image["convention"]]))
    rows = []
    for conv in conventions:
        for ds in outcome.datasets:
            for fu in list(outcome.fusers) + sorted({f for d, f in status if d == ds} - set(outcome.fusers)):
                per = status.get((ds, fu), {"ok": 0, "failed": 0, "missing": 0})
                for m in cfg.metrics:
                    g = groups.get((ds, fu, m, conv))
                    vals = g["value"].dropna().astype(float) if g is not None else pd.Series([], dtype=float)
                    n = int(vals.size)
                    undefined = int(g["value"].isna().sum()) if g is not None else 0
                    if g is None and not per["failed"] and not per["missing"]:
                        continue            # neither values nor failures: not part of this run
                    rows.append({"dataset": ds, "fuser": fu, "metric": m, "convention": conv,
                                 "mean": float(vals.mean()) if n else math.nan,
                                 "std": float(vals.std(ddof=1)) if n > 1 else (0.0 if n == 1 else math.nan),
                                 "count": n, "failures": per["failed"] + undefined,
                                 "units": g["units"].iloc[0] if g is not None else _units(m, conv),
                                 "pairs": outcome.datasets[ds]["pairs"], "fusion_failures": per["failed"],
                                 "missing_fused": per["missing"], "undefined": undefined})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _units(metric: str, convention: str) -> str:
    import metrics

    return metrics.provenance(metric, convention)["units"]


def latency_rows(outcome) -> list[dict[str, Any]]:
    """Fusion latency per dataset × fuser: mean ± sample std over the pairs, with the hardware each
    latency was measured on (``hardware``: the distinct descriptions, None for a pair cached before
    hardware was recorded)."""
    out = []
    groups: dict[tuple[str, str], list] = {}
    for o in outcome.outcomes:
        if o.status == "ok" and o.latency_s is not None:
            groups.setdefault((o.dataset, o.fuser), []).append(o)
    for (ds, fu), pairs in groups.items():
        s = pd.Series([o.latency_s for o in pairs])
        hardware: list[dict[str, Any] | None] = []
        for o in pairs:
            if o.hardware not in hardware:
                hardware.append(o.hardware)
        out.append({"dataset": ds, "fuser": fu, "mean_s": float(s.mean()),
                    "std_s": float(s.std(ddof=1)) if len(pairs) > 1 else 0.0, "count": len(pairs),
                    "device": outcome.config.device, "hardware": hardware,
                    "batch_sizes": sorted({o.batch_size for o in pairs if o.batch_size is not None}),
                    "note": "fusion only (fuser.run incl. padding; a batch's time divided by its size); I/O and "
                            "colour conversion excluded; cached pairs keep the latency measured when they were fused"})
    return out


def _clean(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def run_metric_info(cfg, convention: str | None = None) -> dict[str, dict[str, Any]]:
    """What the run records of each of its metrics (display name, direction, units, version, effective
    source) under ``convention`` (default: the run's first), in the papers' order: the reports and
    figures render this, not the live registry."""
    import metrics

    out = {}
    for m, info in metrics.METRICS.items():
        if m in cfg.metrics:
            out[m] = {"display_name": info.display_name, "higher_is_better": info.higher_is_better,
                      **metrics.provenance(m, convention or cfg.convention)}
    return out


def write_run_results(outcome) -> dict[str, Path]:
    """Write every result file of ``outcome`` into its run directory (atomically) and return the paths."""
    run_dir: Path = outcome.run_dir
    cfg = outcome.config
    per_image = per_image_frame(outcome)
    summary = summary_frame(per_image, outcome)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    provenance = {"created": created, "versions": package_versions(), "git": git_commit(),
                  "hardware": hardware_info(cfg.device), "argv": sys.argv}
    paths = {"config": run_dir / "config.json", "per_image": run_dir / "per_image.csv",
             "summary_csv": run_dir / "summary.csv", "summary_json": run_dir / "summary.json"}
    atomic_write_json(paths["config"], {"config": cfg.to_dict(), "run_id": run_dir.name, **provenance})
    atomic_write_text(paths["per_image"], per_image.to_csv(index=False))
    atomic_write_text(paths["summary_csv"], summary.to_csv(index=False))
    # one convention: {metric: info}; several: {convention: {metric: info}} (what report.metric_info_for reads)
    metric_info = (run_metric_info(cfg) if len(cfg.conventions) == 1
                   else {c: run_metric_info(cfg, c) for c in cfg.conventions})
    doc = {
        "run_id": run_dir.name, "created": created, "convention": cfg.convention,
        "conventions": list(cfg.conventions), "metrics": cfg.metrics, "metric_info": metric_info,
        "datasets": outcome.datasets, "fusers": outcome.fusers,
        "summary": summary.to_dict(orient="records"), "latency": latency_rows(outcome),
        "failures": [{"dataset": o.dataset, "fuser": o.fuser, "pair": o.pair, "message": o.message,
                      **({"traceback": o.traceback} if o.traceback else {})} for o in outcome.failures],
        "missing": [{"dataset": o.dataset, "fuser": o.fuser, "pair": o.pair, "message": o.message}
                    for o in outcome.missing],
        "unmatched": [{"dataset": d, "fuser": f, "files": files} for (d, f), files in outcome.unmatched.items()],
        "efficiency": outcome.efficiency, "plots": outcome.plots, "warnings": outcome.warnings,
        "device": cfg.device, "hardware": provenance["hardware"], "git": provenance["git"],
    }
    atomic_write_json(paths["summary_json"], _clean(doc))
    return paths


def load_summary(run_dir: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of a finished run folder (ConfigError when there is none or it is unreadable)."""
    import json

    from .errors import ConfigError

    path = Path(run_dir) / "summary.json"
    if not Path(run_dir).is_dir():
        raise ConfigError(f"runs: {run_dir}: no such folder (give finished run folders, e.g. results/run-…, or "
                          f"--out RESULTS to use every run under it)")
    if not path.is_file():
        raise ConfigError(f"runs: {path}: no summary.json (is {run_dir} a finished run directory?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"runs: {path}: not valid JSON ({exc})") from None
