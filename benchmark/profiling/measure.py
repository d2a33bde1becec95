"""Measuring one fuser in this process: parameters, latency over timed runs, peak memory, FLOPs.

The protocol (``docs/efficiency.md``): batch 1, the fuser's declared precision, eval mode under
``torch.inference_mode()``; the smooth input pair at a stated W×H; warm-up runs excluded; what is
timed is :meth:`models.base.Fuser.run` on one pair (input checks, the contract's padding and
cropping, host↔device copies, the forward pass, output checks), never image I/O or colour
conversion; on CUDA ``torch.cuda.synchronize()`` before and after every timed call and
``max_memory_allocated`` after ``reset_peak_memory_stats()``; on the CPU wall-clock latency and the
peak resident set size.
"""
from __future__ import annotations

import gc
import statistics
import time
from typing import Any, Mapping, Sequence

import numpy as np

from ..hardware import hardware_info
from .flops import count_flops, is_torch_fuser
from .inputs import fmt_size, normalise_device, parse_size, smooth_input_pair
from .memory import current_rss_bytes, reset_rss_high_water_mark, rss_status_bytes, ru_maxrss_bytes
from .record import (FLOPS_METHOD, MEM_KIND_CUDA, MEM_KIND_FRESH, MEM_KIND_LIFETIME, MEM_KIND_RESET, WHAT_IS_TIMED,
                     EfficiencyRecord)

def _parameter_counts(fuser: Any) -> tuple[int, int, str, dict[str, int]]:
    params = int(fuser.num_parameters())
    frozen = 0
    notes: list[str] = []
    module = getattr(fuser, "module", None)
    if module is not None and hasattr(module, "parameters"):
        unique = {id(p): p for p in module.parameters()}  # shared parameters counted once
        frozen = int(sum(p.numel() for p in unique.values() if not p.requires_grad))
        in_module = int(sum(p.numel() for p in unique.values()))
        if in_module != params:
            notes.append(f"fuser.num_parameters() = {params:,} differs from the {in_module:,} parameters "
                         f"of fuser.module")
    if frozen:
        notes.append(f"includes {frozen:,} frozen parameters (requires_grad=False), counted")
    breakdown: dict[str, int] = {}
    report = getattr(fuser, "parameter_report", None)
    if callable(report):
        raw = report()
        if not isinstance(raw, Mapping):
            raise TypeError(f"{fuser.name}.parameter_report() must return a mapping name -> count, "
                            f"got {type(raw).__name__}")
        for key, value in raw.items():
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise TypeError(f"{fuser.name}.parameter_report()[{key!r}] must be a non-negative int, got {value!r}")
            breakdown[str(key)] = int(value)
        if breakdown:
            notes.append("of which " + "; ".join(f"{k}: {v:,}" for k, v in breakdown.items()))
    return params, frozen, "; ".join(notes), breakdown


# ---------------------------------------------------------------------------------------- measurement
def check_counts(runs: int, warmup: int) -> None:
    if not isinstance(runs, (int, np.integer)) or isinstance(runs, bool) or runs < 2:
        raise ValueError(f"runs must be an integer ≥ 2 (mean ± std), got {runs!r}")
    if not isinstance(warmup, (int, np.integer)) or isinstance(warmup, bool) or warmup < 0:
        raise ValueError(f"warmup must be an integer ≥ 0, got {warmup!r}")


def profile_fuser(fuser: Any, *, size: str | Sequence[int] = (640, 480), device: str = "cpu", runs: int = 10,
                  warmup: int = 2, seed: int = 0, flops: bool = True,
                  classical_on_cpu: bool = False) -> EfficiencyRecord:
    """Measure one fuser in this process (see the module docstring for the protocol).

    Args:
        fuser: a :class:`models.base.Fuser` (torch or classical). It is moved to ``device``.
        size: input size W×H (``(640, 480)`` or ``"640x480"``); batch size is 1.
        device: "cpu", "cuda" or "cuda:N".
        runs: timed runs (≥ 2); warmup: untimed runs before them.
        seed: seed of the synthetic input pair.
        flops: count FLOPs (torch fusers only; None with a note for classical fusers).
        classical_on_cpu: when ``device`` is CUDA and the fuser is CPU-only (not a TorchFuser),
            measure it on the CPU and say so in ``notes`` instead of raising.

    On the CPU, the peak memory is the RSS high-water mark of *this* process during the timed runs
    (reset before them where Linux allows), which includes everything the process already holds;
    use :func:`profile_in_subprocess` for a per-fuser figure from a fresh process.
    """
    return measure(fuser, size=size, device=device, runs=runs, warmup=warmup, seed=seed, flops=flops,
                    classical_on_cpu=classical_on_cpu, cpu_memory="reset")


def measure(fuser: Any, *, size, device: str, runs: int, warmup: int, seed: int, flops: bool,
             classical_on_cpu: bool, cpu_memory: str, mem_baseline: int | None = None) -> EfficiencyRecord:
    from models.base import Fuser

    if not isinstance(fuser, Fuser):
        raise TypeError(f"expected a models.base.Fuser, got {type(fuser).__name__}")
    check_counts(runs, warmup)
    w, h = parse_size(size)
    notes: list[str] = []
    is_torch = is_torch_fuser(fuser)
    requested = normalise_device(device, check_available=False)
    if requested != "cpu" and not is_torch:
        if not classical_on_cpu:
            raise ValueError(f"fuser {fuser.name!r} ({type(fuser).__name__}) runs on the CPU only; profile it "
                             f"with device='cpu' (its figures are then CPU figures) or pass classical_on_cpu=True")
        notes.append(f"CPU-only fuser: measured on the CPU although device={device!r} was requested")
        requested = "cpu"
    device = normalise_device(requested)
    fuser.to(device)
    cuda = device.startswith("cuda")
    ir, vis = smooth_input_pair((w, h), seed)

    params, frozen, params_note, breakdown = _parameter_counts(fuser)

    if cuda:
        import torch

        dev = torch.device(device)
        gc.collect()
        torch.cuda.synchronize(dev)
        torch.cuda.empty_cache()
    for _ in range(warmup):
        fuser.run(ir, vis)

    latencies: list[float] = []
    peak = 0
    peak_reserved: int | None = None
    gc.collect()
    if cuda:
        torch.cuda.synchronize(dev)
        mem_baseline = int(torch.cuda.memory_allocated(dev))
        peak_reserved = 0
        for _ in range(runs):
            torch.cuda.reset_peak_memory_stats(dev)
            torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            fuser.run(ir, vis)
            torch.cuda.synchronize(dev)
            latencies.append(time.perf_counter() - t0)
            peak = max(peak, int(torch.cuda.max_memory_allocated(dev)))
            peak_reserved = max(peak_reserved, int(torch.cuda.max_memory_reserved(dev)))
        mem_kind = MEM_KIND_CUDA
    else:
        if cpu_memory == "reset":
            mem_baseline = current_rss_bytes()
            mem_kind = MEM_KIND_RESET if reset_rss_high_water_mark() else MEM_KIND_LIFETIME
        elif cpu_memory == "fresh":
            mem_kind = MEM_KIND_FRESH
        else:
            raise ValueError(f"cpu_memory must be 'reset' or 'fresh', got {cpu_memory!r}")
        for _ in range(runs):
            t0 = time.perf_counter()
            fuser.run(ir, vis)
            latencies.append(time.perf_counter() - t0)
        hwm = rss_status_bytes("VmHWM") if mem_kind == MEM_KIND_RESET else None
        peak = hwm if hwm is not None else ru_maxrss_bytes()
        if mem_kind == MEM_KIND_RESET and hwm is None:
            mem_kind = MEM_KIND_LIFETIME

    flop_total: float | None = None
    flops_resolution: str | None = None
    if not is_torch:
        flops_note = "not counted: not a PyTorch fuser (FlopCounterMode only sees torch operations)"
    elif not flops:
        flops_note = "not counted (FLOP counting was switched off)"
    else:
        fc = count_flops(fuser, (w, h), seed=seed)
        flop_total = float(fc.total)
        flops_resolution = fmt_size((w, h))
        flops_note = FLOPS_METHOD + f"; one forward at batch 1, input {fmt_size((w, h))}"
        if fc.padded_size != (w, h):
            flops_note += f" reflect-padded to {fmt_size(fc.padded_size)} by the fuser's contract"
        if fc.uncounted_ops:
            flops_note += (f"; WARNING: ops without a FLOP formula ran ({', '.join(fc.uncounted_ops)}), "
                           f"so this is a lower bound")

    return EfficiencyRecord(
        fuser=str(fuser.name), framework=str(getattr(fuser, "framework", "")), params=params,
        params_frozen=frozen, params_note=params_note, params_breakdown=breakdown, flops=flop_total,
        flops_resolution=flops_resolution, flops_note=flops_note,
        latency_mean_s=float(statistics.fmean(latencies)), latency_std_s=float(statistics.stdev(latencies)),
        latency_median_s=float(statistics.median(latencies)), latencies_s=[float(t) for t in latencies],
        runs=int(runs), warmup=int(warmup), peak_mem_bytes=int(peak), peak_mem_kind=mem_kind,
        peak_mem_reserved_bytes=peak_reserved, mem_baseline_bytes=mem_baseline, device=device,
        hardware=hardware_info(device), precision=str(getattr(fuser, "precision", "fp32")), batch_size=1,
        resolution=fmt_size((w, h)), what_is_timed=WHAT_IS_TIMED, notes=notes)
