"""``leaderboard.md``, generated from result files and never edited by hand.

The layout of the papers' comparison tables: one block per dataset and convention, rows = fusers,
columns = metrics, best in bold and second underlined (ties share the mark), a caption with the
convention, the pair count and whether the split is complete. Everything is read from what each run
recorded in its ``summary.json`` (provenance), never from the live registries: metric names, order,
↑/↓ direction, units and versions from its ``metric_info``; measured times with the hardware each
latency was measured on. Everything that depends on the machine or the moment (fusion time,
efficiency measurements, plot links, commit) sits between ``MEASURED_BEGIN`` / ``MEASURED_END``
markers, so CI can check that the committed quality tables are exactly what it regenerates.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Iterable

from tabulate import tabulate

from ivif_toolbox import atomic_write_text, direction_arrow

from .hardware import hardware_summary
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


def merge_orders(sequences: Iterable[list[str]]) -> list[str]:
    """One order consistent with every sequence where they agree (each run lists its metrics in the
    order it recorded); where they disagree, the earlier sequence wins."""
    seqs = [list(s) for s in sequences if s]
    out: list[str] = []
    while seqs:
        for seq in seqs:
            head = seq[0]
            if not any(head in other[1:] for other in seqs):
                break
        else:
            head = seqs[0][0]
        out.append(head)
        seqs = [[x for x in seq if x != head] for seq in seqs]
        seqs = [s for s in seqs if s]
    return out


def merge_summaries(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Combine run summaries; a later run replaces an earlier one's (dataset, fuser, convention) rows."""
    merged: dict[str, Any] = {"datasets": {}, "fusers": {}, "rows": {}, "row_run": {}, "latency": {},
                              "metric_info": {}, "metric_order": {}, "run_metric_info": {}, "failures": [],
                              "missing": [], "unmatched": [], "efficiency": [], "plots": {}, "runs": [],
                              "convention_of": {}}
    orders: dict[str, list[list[str]]] = {}
    for s in summaries:
        conv, run_id = s["convention"], s["run_id"]
        convs = s.get("conventions") or [conv]          # a run evaluates one or several conventions
        by_conv = s.get("metric_info_by_convention") or {conv: s["metric_info"]}
        merged["runs"].append({"run_id": run_id, "created": s["created"], "git": s.get("git", {}),
                               "device": s.get("device"), "hardware": s.get("hardware", {})})
        for c in convs:
            for ds, meta in s["datasets"].items():
                merged["datasets"][(ds, c)] = meta
            orders.setdefault(c, []).append(list(by_conv[c]))
            for m, info in by_conv[c].items():
                merged["metric_info"][(m, c)] = info
            merged["run_metric_info"][(run_id, c)] = by_conv[c]
        merged["fusers"].update(s["fusers"])
        for row in s["summary"]:
            key = (row["dataset"], row.get("convention") or conv, row["fuser"], row["metric"])
            merged["rows"][key] = row
            merged["row_run"][key] = run_id
        for row in s["latency"]:
            merged["latency"][(row["dataset"], row["fuser"])] = {**row, "run_device": s.get("device")}
        for key in ("failures", "missing", "unmatched"):   # a failed pair has no value under any convention
            merged[key].extend({**r, "convention": c} for r in s.get(key, []) for c in convs)
        merged["efficiency"].extend(s.get("efficiency", []))
        for ds, plots in (s.get("plots") or {}).items():
            merged["plots"][ds] = plots
    merged["metric_order"] = {conv: merge_orders(seqs) for conv, seqs in orders.items()}
    return merged


def _version_note(merged: dict[str, Any], ds: str, conv: str, keys: list[str]) -> list[str]:
    """A warning when the rows of one table were computed with different versions of a metric."""
    notes = []
    for m in keys:
        versions: dict[str, list[str]] = {}
        for key, run_id in merged["row_run"].items():
            if key[0] == ds and key[1] == conv and key[3] == m:
                v = str(merged["run_metric_info"][(run_id, conv)].get(m, {}).get("version", "?"))
                if run_id not in versions.setdefault(v, []):
                    versions[v].append(run_id)
        if len(versions) > 1:
            name = merged["metric_info"][(m, conv)]["display_name"]
            notes.append(f"{name} " + ", ".join(f"v{v} ({', '.join(r)})" for v, r in versions.items()))
    if not notes:
        return []
    return [f"**Metric versions differ between the merged runs** ({'; '.join(notes)}): rows computed with "
            f"different versions are not comparable; rerun the older ones.", ""]


def _quality_block(merged: dict[str, Any], ds: str, conv: str) -> list[str]:
    meta = merged["datasets"][(ds, conv)]
    present = {k[3] for k in merged["rows"] if k[0] == ds and k[1] == conv}
    keys = [m for m in merged["metric_order"][conv] if m in present]
    info = {m: merged["metric_info"][(m, conv)] for m in keys}
    fusers = []
    for (d, c, f, _m) in merged["rows"]:
        if d == ds and c == conv and f not in fusers:
            fusers.append(f)
    header = ["Method"] + [f"{info[m]['display_name']} {direction_arrow(info[m]['higher_is_better'])}" for m in keys]
    marks = {}
    for m in keys:
        vals = {f: merged["rows"].get((ds, conv, f, m), {}).get("mean") for f in fusers}
        marks[m] = rank_marks(vals, info[m]["higher_is_better"])
    table = []
    for f in fusers:
        row = [f]
        for m in keys:
            r = merged["rows"].get((ds, conv, f, m))
            row.append(_mark(_fmt(r["mean"] if r else None), marks[m].get(f)))
        table.append(row)
    units = []
    for m in keys:
        if info[m].get("effective_source") and info[m]["effective_source"] != conv:
            units.append(f"{info[m]['display_name']} from `{info[m]['effective_source']}`")
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
    lines += _version_note(merged, ds, conv, keys)
    fails = [r for r in merged["failures"] if r["dataset"] == ds and r["convention"] == conv]
    missing = [r for r in merged["missing"] if r["dataset"] == ds and r["convention"] == conv]
    if fails:
        lines += [f"Failed pairs ({len(fails)}), excluded from the means:", ""]
        lines += [f"- {r['fuser']} / {r['pair']}: {r['message'].splitlines()[0][:200]}" for r in fails] + [""]
    if missing:
        by_fuser: dict[str, list[str]] = {}
        for r in missing:
            by_fuser.setdefault(r["fuser"], []).append(r["pair"])
        lines += ["Pairs without a fused image in a result folder: "
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


def _hardware_labels(merged: dict[str, Any]) -> tuple[list[str], dict[tuple[str, str], list[int]]]:
    """The distinct hardware the latencies were measured on (caption lines) and, per latency row,
    the indices of its hardware."""
    labels: list[str] = []
    of_row: dict[tuple[str, str], list[int]] = {}
    for key, row in merged["latency"].items():
        device = row.get("device") or row.get("run_device") or "cpu"
        for hw in row.get("hardware") or [None]:
            label = (hardware_summary(hw, device) if hw else
                     "unknown hardware (pairs cached before the hardware was recorded with each latency)")
            if label not in labels:
                labels.append(label)
            of_row.setdefault(key, []).append(labels.index(label))
    return labels, of_row


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
        labels, of_row = _hardware_labels(merged)
        several = len(labels) > 1

        def cell(ds: str, f: str) -> str:
            r = merged["latency"].get((ds, f))
            if not r:
                return "—"
            mark = f" [{', '.join(str(i + 1) for i in of_row[(ds, f)])}]" if several else ""
            return f"{r['mean_s']:.4f} ± {r['std_s']:.4f}{mark}"

        rows = [[f] + [cell(ds, f) for ds in datasets] for f in fusers]
        where = (f"Measured on {labels[0]}" if not several else
                 "Measured on: " + "; ".join(f"[{i + 1}] {label}" for i, label in enumerate(labels)))
        lines += [f"*Seconds per pair (mean ± std over the pairs), fusion only: `fuser.run` including its padding; "
                  f"image I/O and colour conversion excluded; first call not excluded (see the efficiency table for "
                  f"warmed-up timings); a cached pair keeps the latency and hardware of its first fusion. "
                  f"{where}.*", "",
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
        for conv, order in merged["metric_order"].items():
            versions = [f"{merged['metric_info'][(m, conv)]['display_name']} "
                        f"v{merged['metric_info'][(m, conv)].get('version', '?')}" for m in order]
            lines += [f"*Metric versions (`{conv}`, as recorded by the latest run): {', '.join(versions)}.*", ""]
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
