"""The efficiency table in the layout of DMNet's Table VIII, with its measuring conditions."""
from __future__ import annotations

import math
from typing import Sequence

from ..hardware import hardware_summary
from .record import (FLOPS_METHOD, GIB, MEM_KIND_CUDA, MEM_KIND_FRESH, MEM_KIND_LIFETIME, MEM_KIND_RESET,
                     WHAT_IS_TIMED, EfficiencyRecord)

def _fmt_millions(n: int) -> str:
    """Parameters in millions: 3 decimals as in the papers, 6 below 0.01 M (never "0.000")."""
    if n == 0:
        return "0"
    m = n / 1e6
    return f"{m:.3f}" if m >= 0.01 else f"{m:.6f}"


def _fmt_giga(flops: float) -> str:
    g = flops / 1e9
    return f"{g:.2f}" if g >= 0.01 else f"{g:.6f}"


def _decimals_for(value: float) -> int:
    """Three decimals, more for sub-10 ms values so that they do not print as 0.000."""
    if value <= 0 or not math.isfinite(value):
        return 3
    return max(3, 2 - int(math.floor(math.log10(value))))


def _fmt_time(mean: float, std: float) -> str:
    d = _decimals_for(mean)
    return f"{mean:.{d}f} ± {std:.{d}f}"


def _fmt_gb(nbytes: int) -> str:
    gb = nbytes / GIB
    return f"{gb:.2f}" if gb >= 0.1 else f"{gb:.3f}"


def _device_label(r: EfficiencyRecord) -> str:
    return "CPU" if not r.is_cuda else f"GPU ({r.device})"


def _mem_short(kind: str) -> str:
    return {MEM_KIND_CUDA: "GPU alloc", MEM_KIND_FRESH: "CPU RSS, fresh process",
            MEM_KIND_RESET: "CPU RSS, this process", MEM_KIND_LIFETIME: "CPU RSS, process lifetime"}.get(kind, kind)


def render_efficiency_table(records: Sequence[EfficiencyRecord], *, caption: bool = True,
                            tablefmt: str = "github") -> str:
    """Markdown efficiency table in the layout of DMNet's Table VIII, with its conditions.

    Columns: Method | Framework | Params (M) | FLOPs (G) | Time (s) | Peak Mem (GB). Time is
    mean ± std over the timed runs. When every row is a CPU measurement the headers read
    "Time (s, CPU)" and "Peak RSS (GB, CPU)"; when CPU and GPU rows are mixed a Device column is
    added and every memory cell says which kind it is. Conditions shared by all rows (hardware,
    device, precision, batch size, resolution, runs / warm-up, what is timed, memory and FLOP
    semantics) go into the caption; conditions that differ between rows become extra columns.
    GB are 2**30 bytes. ``tablefmt`` is passed to ``tabulate`` ("github" or "pipe").
    """
    from tabulate import tabulate

    records = list(records)
    if not records:
        raise ValueError("render_efficiency_table needs at least one EfficiencyRecord, got none")
    for r in records:
        if not isinstance(r, EfficiencyRecord):
            raise TypeError(f"expected EfficiencyRecord items, got {type(r).__name__}")
    if tablefmt not in ("github", "pipe"):
        raise ValueError(f"tablefmt must be 'github' or 'pipe' (Markdown), got {tablefmt!r}")

    def threads(r: EfficiencyRecord) -> str:
        t = str(r.hardware.get("torch_threads", ""))
        return t if (not r.is_cuda and t.isdigit()) else "–"

    thread_values = {threads(r) for r in records} - {"–"}
    devices = {_device_label(r) for r in records}
    all_cpu = devices == {"CPU"}
    mixed_kinds = len({r.is_cuda for r in records}) > 1
    varying = {
        "Device": len(devices) > 1,
        "Hardware": len({hardware_summary(r.hardware, r.device) for r in records}) > 1,
        "Precision": len({r.precision for r in records}) > 1,
        "Resolution": len({r.resolution for r in records}) > 1,
        "Runs (warm-up)": len({(r.runs, r.warmup) for r in records}) > 1,
        "Torch threads (CPU)": len(thread_values) > 1,
        "Memory kind": len({r.peak_mem_kind for r in records}) > 1 and not mixed_kinds,
    }
    time_h = "Time (s, CPU)" if all_cpu else "Time (s)"
    mem_h = "Peak RSS (GB, CPU)" if all_cpu else "Peak Mem (GB)"
    headers = ["Method", "Framework"] + [k for k in ("Device", "Hardware") if varying[k]] + \
        ["Params (M)", "FLOPs (G)", time_h, mem_h] + \
        [k for k in ("Precision", "Resolution", "Runs (warm-up)", "Torch threads (CPU)", "Memory kind") if varying[k]]

    footnotes: list[str] = []
    rows = []
    for r in records:
        params = _fmt_millions(r.params)
        if r.params_frozen:
            params += f" ({_fmt_millions(r.params_frozen)} frozen)"
        if r.params_note:
            footnotes.append(f"{r.fuser} parameters: {r.params_note}.")
        if r.flops is None:
            flops = "–"
            footnotes.append(f"{r.fuser} FLOPs: {r.flops_note}.")
        else:
            flops = _fmt_giga(r.flops)
            if "WARNING" in r.flops_note:
                flops += " (lower bound)"
                footnotes.append(f"{r.fuser} FLOPs: {r.flops_note}.")
        mem = _fmt_gb(r.peak_mem_bytes)
        if mixed_kinds:
            mem += f" ({_mem_short(r.peak_mem_kind)})"
        extra = {"Device": _device_label(r), "Hardware": hardware_summary(r.hardware, r.device),
                 "Precision": r.precision, "Resolution": r.resolution,
                 "Runs (warm-up)": f"{r.runs} ({r.warmup})", "Torch threads (CPU)": threads(r),
                 "Memory kind": _mem_short(r.peak_mem_kind)}
        row = [r.fuser, r.framework or "–"] + [extra[k] for k in ("Device", "Hardware") if varying[k]] + \
            [params, flops, _fmt_time(r.latency_mean_s, r.latency_std_s), mem] + \
            [extra[k] for k in ("Precision", "Resolution", "Runs (warm-up)", "Torch threads (CPU)", "Memory kind")
             if varying[k]]
        rows.append(row)
        for note in r.notes:
            footnotes.append(f"{r.fuser}: {note}.")
    table = tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
    if not caption:
        return table

    r0 = records[0]
    title = "**Efficiency measured by this harness**"
    if all_cpu:
        title += " — **CPU figures** (not comparable with GPU figures)"
    items = []
    if not varying["Hardware"]:
        hw = f"Hardware: {hardware_summary(r0.hardware, r0.device)}"
        if len(thread_values) == 1:
            hw += f"; torch CPU threads: {next(iter(thread_values))} (CPU rows of PyTorch fusers)"
        items.append(hw + ".")
    cond = []
    if not varying["Device"]:
        cond.append(f"device {_device_label(r0)}")
    if not varying["Precision"]:
        cond.append(f"precision {r0.precision}")
    cond.append("batch size 1")
    if not varying["Resolution"]:
        cond.append(f"input {r0.resolution} (W×H), synthetic pair")
    items.append("Conditions: " + ", ".join(cond) + ".")
    runs_txt = (f"{r0.runs} timed runs after {r0.warmup} warm-up run{'s' if r0.warmup != 1 else ''} (excluded)"
                if not varying["Runs (warm-up)"] else "the runs given per row, warm-up runs excluded")
    sync = "; torch.cuda.synchronize() before and after each run" if any(r.is_cuda for r in records) else ""
    items.append(f"Time: seconds per pair, mean ± std over {runs_txt}{sync}; timed: {WHAT_IS_TIMED}.")
    kinds = sorted({r.peak_mem_kind for r in records})
    mem_desc = {
        MEM_KIND_CUDA: "GPU rows: torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), maximum over "
                       "the timed runs, weights included, CUDA context and allocator cache excluded",
        MEM_KIND_FRESH: "CPU rows: peak resident set size of a fresh measuring process (interpreter and imported "
                        "libraries included)",
        MEM_KIND_RESET: "CPU rows: peak resident set size of the measuring process during the timed runs "
                        "(everything the process holds included)",
        MEM_KIND_LIFETIME: "CPU rows: peak resident set size over the measuring process's lifetime (not "
                           "attributable to one fuser)",
    }
    items.append("Peak memory: " + "; ".join(mem_desc.get(k, k) for k in kinds) + "; GB = 2^30 bytes.")
    items.append(f"FLOPs: {FLOPS_METHOD}; one forward at batch 1 and the stated input size; – = not counted.")
    parts = [title + "."] + [f"- {i}" for i in items]
    text = "\n".join(parts) + "\n\n" + table
    if footnotes:
        seen: list[str] = []
        for f in footnotes:
            if f not in seen:
                seen.append(f)
        text += "\n\nNotes:\n\n" + "\n".join(f"- {f}" for f in seen)
    return text + "\n"
