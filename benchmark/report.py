"""``leaderboard.md``, generated from result files and never edited by hand.

Layout of the papers' comparison tables (``specs/datasets.md`` §6): one block per dataset, rows =
fusers, columns = metrics in the papers' order with ↑/↓ read from the metric registry, best in
bold and second underlined (ties share the mark), a caption with convention, pair count and
whether the split is complete. Everything that depends on the machine or the moment (fusion time,
efficiency measurements, plot links, commit) sits between ``MEASURED_BEGIN`` / ``MEASURED_END``
markers, so CI can check that the committed quality tables are exactly what it regenerates.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Iterable

from tabulate import tabulate

from ivif_toolbox import atomic_write_text
from .results import load_summary

MEASURED_BEGIN = "<!-- measured:begin (machine-dependent; excluded from the CI staleness check) -->"
MEASURED_END = "<!-- measured:end -->"


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}f}"


def rank_marks(values: dict[str, float | None], higher_is_better: bool) -> dict[str, str]:
    """'best' / 'second' per row key; ties share a mark; undefined values get none."""
    defined = sorted({round(v, 12) for v in values.values() if v is not None and not math.isnan(v)},
                     reverse=higher_is_better)
    marks: dict[str, str] = {}
    if sum(v is not None and not math.isnan(v) for v in values.values()) < 2:
        return marks                     # nothing to compare against
    for k, v in values.items():
        if v is None or math.isnan(v):
            continue
        r = round(v, 12)
        if defined and r == defined[0]:
            marks[k] = "best"
        elif len(defined) > 1 and r == defined[1]:
            marks[k] = "second"
    return marks


def _mark(text: str, mark: str | None) -> str:
    if mark == "best":
        return f"**{text}**"
    if mark == "second":
        return f"<u>{text}</u>"
    return text


def merge_summaries(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Combine run summaries; a later run replaces an earlier one's (dataset, fuser, convention) rows."""
    merged: dict[str, Any] = {"datasets": {}, "fusers": {}, "rows": {}, "latency": {}, "metric_info": {},
                              "failures": [], "missing": [], "unmatched": [], "efficiency": [], "plots": {},
                              "runs": [], "convention_of": {}}
    for s in summaries:
        conv = s["convention"]
        merged["runs"].append({"run_id": s["run_id"], "created": s["created"], "git": s.get("git", {}),
                               "device": s.get("device"), "hardware": s.get("hardware", {})})
        for ds, meta in s["datasets"].items():
            merged["datasets"][(ds, conv)] = meta
        merged["fusers"].update(s["fusers"])
        for m, info in s["metric_info"].items():
            merged["metric_info"][(m, conv)] = info
        for row in s["summary"]:
            merged["rows"][(row["dataset"], conv, row["fuser"], row["metric"])] = row
        for row in s["latency"]:
            merged["latency"][(row["dataset"], row["fuser"])] = row
        for key in ("failures", "missing", "unmatched"):
            merged[key].extend({**r, "convention": conv} for r in s.get(key, []))
        merged["efficiency"].extend(s.get("efficiency", []))
        for ds, plots in (s.get("plots") or {}).items():
            merged["plots"][ds] = plots
    return merged


def _quality_block(merged: dict[str, Any], ds: str, conv: str) -> list[str]:
    import metrics

    meta = merged["datasets"][(ds, conv)]
    keys = [m for m in metrics.METRICS if any(k[0] == ds and k[1] == conv and k[3] == m for k in merged["rows"])]
    fusers = []
    for (d, c, f, _m) in merged["rows"]:
        if d == ds and c == conv and f not in fusers:
            fusers.append(f)
    header = ["Method"] + [f"{metrics.METRICS[m].display_name} {'↑' if metrics.METRICS[m].higher_is_better else '↓'}"
                           for m in keys]
    marks = {}
    for m in keys:
        vals = {f: merged["rows"].get((ds, conv, f, m), {}).get("mean") for f in fusers}
        marks[m] = rank_marks(vals, metrics.METRICS[m].higher_is_better)
    table = []
    for f in fusers:
        row = [f]
        for m in keys:
            r = merged["rows"].get((ds, conv, f, m))
            row.append(_mark(_fmt(r["mean"] if r else None), marks[m].get(f)))
        table.append(row)
    units = []
    for m in keys:
        info = merged["metric_info"].get((m, conv), {})
        if info.get("effective_source") and info["effective_source"] != conv:
            units.append(f"{metrics.METRICS[m].display_name} from `{info['effective_source']}`")
    mi = merged["metric_info"].get(("MI", conv))
    split = (f"complete official split {meta['split']} ({meta['official_count']} pairs)" if meta["complete"]
             else f"**subset**: {meta['pairs']} of the {meta['official_count']} pairs of the official split "
                  f"{meta['split']}" + (" (--limit)" if meta.get("limited") else ""))
    caption = (f"*{meta['title']}: {split}. Metric convention `{conv}`"
               + (f" (MI in {mi['units']})" if mi else "")
               + (f"; fallbacks: {', '.join(units)}" if units else "")
               + ". Mean over pairs; best in **bold**, second <u>underlined</u>; — = undefined for these images.*")
    lines = [f"## {meta['title']} — `{conv}`", "", caption, "",
             tabulate(table, headers=header, tablefmt="github", disable_numparse=True), ""]
    fails = [r for r in merged["failures"] if r["dataset"] == ds and r["convention"] == conv]
    missing = [r for r in merged["missing"] if r["dataset"] == ds and r["convention"] == conv]
    if fails:
        lines += [f"Failed pairs ({len(fails)}), excluded from the means:", ""]
        lines += [f"- {r['fuser']} / {r['pair']}: {r['message'].splitlines()[0][:200]}" for r in fails] + [""]
    if missing:
        by_fuser: dict[str, list[str]] = {}
        for r in missing:
            by_fuser.setdefault(r["fuser"], []).append(r["pair"])
        lines += [f"Pairs without a fused image in a result folder: "
                  + "; ".join(f"{f}: {len(p)} ({', '.join(p[:8])}{' …' if len(p) > 8 else ''})"
                              for f, p in by_fuser.items()), ""]
    return lines


def _fuser_legend(merged: dict[str, Any], names: list[str]) -> list[str]:
    rows = []
    for n in names:
        f = merged["fusers"].get(n, {})
        params = f.get("params")
        rows.append([n, f.get("framework", "—"), "—" if not params else f"{params / 1e6:.3f}",
                     f.get("weights", "—"), f.get("output_policy", "—"), f.get("reference", "") or "—"])
    return ["## Methods", "",
            "*Params (M): every parameter of the module used at inference (frozen ones included). Weights and "
            "output policy change the numbers and are recorded per row.*", "",
            tabulate(rows, headers=["Method", "Framework", "Params (M)", "Weights", "Output policy", "Reference"],
                     tablefmt="github", disable_numparse=True), ""]


def _measured_block(merged: dict[str, Any], leaderboard_path: Path) -> list[str]:
    lines = [MEASURED_BEGIN, "", "## Measured fusion time", ""]
    datasets = []
    for (ds, _conv) in merged["datasets"]:
        if ds not in datasets:
            datasets.append(ds)
    fusers = []
    for (_ds, f) in merged["latency"]:
        if f not in fusers:
            fusers.append(f)
    if fusers:
        rows = [[f] + [(f"{r['mean_s']:.4f} ± {r['std_s']:.4f}" if (r := merged["latency"].get((ds, f))) else "—")
                       for ds in datasets] for f in fusers]
        devs = sorted({r.get("device") or "cpu" for r in merged["runs"]})
        hw = merged["runs"][-1].get("hardware", {}) if merged["runs"] else {}
        lines += [f"*Seconds per pair (mean ± std over the pairs), fusion only: `fuser.run` including its padding; "
                  f"image I/O and colour conversion excluded; first call not excluded (see the efficiency table for "
                  f"warmed-up timings). Device: {', '.join(devs)}; CPU: {hw.get('cpu', '?')}"
                  + (f"; GPU: {hw['gpu']}" if hw.get("gpu") else "") + ".*", "",
                  tabulate(rows, headers=["Method"] + [merged["datasets"][next(k for k in merged["datasets"] if k[0] == d)]["title"]
                                                       for d in datasets], tablefmt="github", disable_numparse=True), ""]
    if merged["efficiency"]:
        from .efficiency import render_efficiency

        lines += render_efficiency(merged["efficiency"])
    if merged["plots"]:
        lines += ["## Plots", ""]
        for ds, plots in merged["plots"].items():
            links = []
            for label, p in plots.items():
                rel = _relpath(Path(p), leaderboard_path.parent)
                links.append(f"[{label}]({rel})")
            lines.append(f"- {ds}: " + " · ".join(links))
        lines.append("")
    runs = merged["runs"]
    if runs:
        lines += ["*Generated from " + ", ".join(
            f"`{r['run_id']}` ({r['created']}, commit {str((r.get('git') or {}).get('commit'))[:10]}"
            f"{'+dirty' if (r.get('git') or {}).get('dirty') else ''})" for r in runs) + ".*", ""]
    lines += [MEASURED_END]
    return lines


def _relpath(p: Path, start: Path) -> str:
    import os

    try:
        return os.path.relpath(p.resolve(), start.resolve())
    except ValueError:
        return str(p)


def render_leaderboard(summaries: list[dict[str, Any]], leaderboard_path: Path = Path("leaderboard.md")) -> str:
    merged = merge_summaries(summaries)
    lines = ["# Leaderboard", "",
             "Generated by `python -m benchmark run` / `report` from result files: do not edit by hand. "
             "Metric definitions and conventions: [docs/metrics.md](docs/metrics.md).", ""]
    names: list[str] = []
    for (ds, conv) in merged["datasets"]:
        lines += _quality_block(merged, ds, conv)
        for (d, c, f, _m) in merged["rows"]:
            if d == ds and c == conv and f not in names:
                names.append(f)
    lines += _fuser_legend(merged, names)
    from .reported import render_reported_block

    lines += [render_reported_block(heading_level=2).rstrip(), ""]
    lines += _measured_block(merged, leaderboard_path)
    return "\n".join(lines).rstrip() + "\n"


def write_leaderboard(run_dirs: list[Path], path: Path) -> Path:
    text = render_leaderboard([load_summary(d) for d in run_dirs], path)
    atomic_write_text(path, text)
    return path


def strip_measured(text: str) -> str:
    """The leaderboard without its machine-dependent blocks (what the CI staleness check compares)."""
    return re.sub(re.escape(MEASURED_BEGIN) + r".*?" + re.escape(MEASURED_END), "", text, flags=re.S).strip() + "\n"


def find_runs(out: Path) -> list[Path]:
    """Finished run directories under ``out``, oldest first (by summary.json modification time)."""
    runs = [p.parent for p in out.glob("*/summary.json")]
    return sorted(runs, key=lambda p: (p / "summary.json").stat().st_mtime)
