"""Efficiency measurement of fusers: parameters, FLOPs, latency per pair and peak memory.

Both papers the project reproduces sell efficiency: DMNet reports 386.358 M parameters, 1.466 s per
MSRS pair and a 9.94 GB peak on an A100 (DMNet paper, Table VIII and §IV); RED reports 7.14 GB of
training memory and 1.3 s per image at T = 2 (RED paper, Tables 2 and 5). Fusion toolkits usually
time without CUDA synchronisation, include image I/O, and never report memory. This module
implements the project's protocol (``docs/efficiency.md``; ``specs/datasets.md`` §5):

* batch 1, the fuser's declared precision, model in eval mode under ``torch.inference_mode()``
  (:meth:`models.base.TorchFuser.fuse_tensor` does both);
* synthetic smooth inputs at a stated W×H; warm-up runs first, excluded from the statistics;
* what is timed: :meth:`models.base.Fuser.run` on one pair, i.e. input checks, the contract's
  reflect padding, host↔device copies, the forward pass, cropping and output checks; image I/O
  and colour conversion are excluded;
* CUDA: ``torch.cuda.synchronize()`` before and after every timed call; peak memory is
  ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()`` (maximum over runs);
* CPU: wall-clock latency and the peak resident set size (RSS), labelled as CPU figures; for
  per-fuser numbers use :func:`profile_in_subprocess`, which measures in a fresh process;
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` over one forward at batch 1, real FLOPs
  (2 per multiply–add), with fused attention kernels made visible (see :func:`count_flops`).

Public API: :class:`EfficiencyRecord`, :func:`profile_fuser`, :func:`profile_in_subprocess`,
:func:`count_flops`, :func:`render_efficiency_table`, :func:`parse_size`, :func:`synthetic_pair`,
:func:`write_efficiency_json` / :func:`read_efficiency_json`.

``python -m benchmark.profiling`` is the measuring child of :func:`profile_in_subprocess`
(a JSON request on stdin, a JSON answer on stdout); it does not depend on the CLI.
"""
from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ivif_toolbox import atomic_write_json

__all__ = ["EfficiencyRecord", "FlopCount", "ProfilingError", "WHAT_IS_TIMED", "count_flops", "hardware_info",
           "parse_size", "profile_fuser", "profile_in_subprocess", "read_efficiency_json",
           "render_efficiency_table", "synthetic_pair", "write_efficiency_json"]

#: what the latency figures cover (stored in every record and printed in the table caption)
WHAT_IS_TIMED = ("fusion only: fuser.run() on one pair (input checks, the contract's reflect padding and "
                 "cropping, host-device copies, forward pass, output checks); image I/O and colour "
                 "conversion excluded")

MEM_KIND_CUDA = "cuda max_memory_allocated"
MEM_KIND_FRESH = "CPU peak RSS of a fresh process"
MEM_KIND_RESET = "CPU peak RSS of this process during the timed runs (high-water mark reset before them)"
MEM_KIND_LIFETIME = "CPU peak RSS of this process over its whole lifetime (high-water mark could not be reset)"

FLOPS_METHOD = ("torch.utils.flop_counter.FlopCounterMode, real FLOPs (2 per multiply-add) of convolutions, "
                "matrix products and attention; bias additions, normalisation, activations and other "
                "element-wise operations are not counted")

#: aten ops whose FLOPs FlopCounterMode does not see (no formula registered); when one of them runs
#: during the count, the record says so and the count is a lower bound
_UNCOUNTED_COMPUTE_OPS = frozenset({
    "aten._native_multi_head_attention", "aten._transformer_encoder_layer_fwd",
    "aten._scaled_dot_product_fused_attention_overrideable", "aten.mv", "aten.addmv", "aten.dot",
    "aten.vdot", "aten.addbmm", "aten.addr", "aten._fft_r2c", "aten._fft_c2c", "aten._fft_c2r",
    "aten.mkldnn_convolution", "aten.mkldnn_linear", "aten._int_mm", "aten._weight_int8pack_mm",
})

_GIB = float(1 << 30)


class ProfilingError(RuntimeError):
    """A measurement in a child process failed; the message carries the child's error."""


# ============================================================================ the record
@dataclass
class EfficiencyRecord:
    """Efficiency figures of one fuser under stated conditions (one row of the efficiency table).

    Attributes:
        fuser: registry name of the fuser.
        framework: e.g. "PyTorch", "NumPy" (the fuser's ``framework`` attribute).
        params: parameters of everything used at inference (``fuser.num_parameters()``), frozen
            ones included.
        params_frozen: how many of ``params`` have ``requires_grad=False`` (counted, and said so).
        params_note: human-readable remark on the count (frozen part, breakdown), "" if none.
        params_breakdown: optional named groups from the fuser's ``parameter_report()`` hook
            (e.g. idle modules kept for strict checkpoint loading).
        flops: real FLOPs (not MACs) of one forward at batch 1, or None when not counted.
        flops_resolution: "W×H" input size of the counted forward (padding noted in ``flops_note``).
        flops_note: method, caveats, or why FLOPs are None.
        latency_mean_s, latency_std_s, latency_median_s: seconds per pair over the timed runs
            (std is the sample standard deviation).
        latencies_s: the individual timed runs.
        runs, warmup: timed runs and excluded warm-up runs.
        peak_mem_bytes: CUDA: max of ``torch.cuda.max_memory_allocated()`` over the timed runs
            (weights included); CPU: peak RSS in bytes (see ``peak_mem_kind``).
        peak_mem_kind: what ``peak_mem_bytes`` is (one of the ``MEM_KIND_*`` strings).
        peak_mem_reserved_bytes: CUDA only: max of ``max_memory_reserved()`` (allocator cache
            included); None on CPU.
        mem_baseline_bytes: memory already in use when measuring began (CUDA: ``memory_allocated()``
            before the timed runs; CPU fresh process: RSS after imports, before building the fuser;
            CPU in-process: RSS before the timed runs).
        device: "cpu" or "cuda:N".
        hardware: GPU/CPU model and software versions (:func:`hardware_info`).
        precision: "fp32", "bf16" or "fp16" (autocast), the fuser's declared precision.
        batch_size: pairs per call (1).
        resolution: "W×H" of the synthetic input pair.
        what_is_timed: what the latency covers.
        process: "fresh subprocess" or "in-process".
        notes: further remarks (e.g. a CPU-only fuser measured on the CPU in a CUDA run).
    """

    fuser: str
    framework: str
    params: int
    params_frozen: int
    params_note: str
    params_breakdown: dict[str, int]
    flops: float | None
    flops_resolution: str | None
    flops_note: str
    latency_mean_s: float
    latency_std_s: float
    latency_median_s: float
    latencies_s: list[float]
    runs: int
    warmup: int
    peak_mem_bytes: int
    peak_mem_kind: str
    peak_mem_reserved_bytes: int | None
    mem_baseline_bytes: int | None
    device: str
    hardware: dict[str, str]
    precision: str
    batch_size: int
    resolution: str
    what_is_timed: str = WHAT_IS_TIMED
    process: str = "in-process"
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ derived
    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def flops_g(self) -> float | None:
        return None if self.flops is None else self.flops / 1e9

    @property
    def peak_mem_gb(self) -> float:
        """Peak memory in GB of 2**30 bytes (GiB)."""
        return self.peak_mem_bytes / _GIB

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EfficiencyRecord":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown EfficiencyRecord fields {unknown}; expected a subset of {sorted(names)}")
        return cls(**dict(data))


@dataclass(frozen=True)
class FlopCount:
    """Result of :func:`count_flops`.

    total: real FLOPs of one forward. by_op: FLOPs per aten op. uncounted_ops: ops that ran but
    have no FLOP formula (the total is then a lower bound). padded_size: (W, H) the forward saw.
    """

    total: int
    by_op: dict[str, int]
    uncounted_ops: tuple[str, ...]
    padded_size: tuple[int, int]


# ============================================================================ small helpers
def parse_size(size: str | Sequence[int]) -> tuple[int, int]:
    """``"640x480"`` / ``"640×480"`` / ``(640, 480)`` → ``(640, 480)`` as (W, H)."""
    if isinstance(size, str):
        parts = size.lower().replace("×", "x").split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"size must look like 'WxH' (e.g. '640x480'), got {size!r}")
        w, h = (int(p) for p in parts)
    else:
        try:
            w, h = size
        except (TypeError, ValueError):
            raise TypeError(f"size must be 'WxH' or a (W, H) pair, got {size!r}") from None
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (w, h)):
            raise TypeError(f"size must hold integers (W, H), got {size!r}")
        w, h = int(w), int(h)
    if w < 1 or h < 1:
        raise ValueError(f"size must be positive, got W={w}, H={h}")
    return w, h


def _fmt_size(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def synthetic_pair(size: str | Sequence[int] = (640, 480), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth, seeded synthetic (IR, VIS Y) pair: float32 H×W arrays in [0.1, 0.9].

    Each image is 0.5 + 0.4 × the mean of six random low-frequency 2-D cosines (1–6 cycles across
    the image), so values stay inside [0.1, 0.9] without any data-dependent stretching.
    """
    w, h = parse_size(size)
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, h, dtype=np.float64)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float64)[None, :]
    out = []
    for _ in range(2):
        acc = np.zeros((h, w), dtype=np.float64)
        k = 6
        for _ in range(k):
            fy, fx = rng.uniform(1.0, 6.0, size=2)
            phase = rng.uniform(0.0, 2 * math.pi)
            acc += np.cos(2 * math.pi * (fy * yy + fx * xx) + phase)
        out.append((0.5 + 0.4 * acc / k).astype(np.float32))
    return out[0], out[1]


def _normalise_device(device: str, *, check_available: bool = True) -> str:
    if not isinstance(device, str):
        raise TypeError(f"device must be a string ('cpu', 'cuda', 'cuda:N'), got {type(device).__name__}")
    d = device.strip().lower()
    if d == "cpu":
        return "cpu"
    if d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit()):
        if not check_available:
            return d
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} requested but torch.cuda.is_available() is False")
        return d if ":" in d else f"cuda:{torch.cuda.current_device()}"
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def cpu_model() -> str:
    """CPU model name (from /proc/cpuinfo on Linux), for hardware captions and run provenance."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _nvidia_driver() -> str:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return "unknown (nvidia-smi not on PATH)"
    try:
        res = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unknown (nvidia-smi failed: {err})"
    first = res.stdout.strip().splitlines()[:1]
    return first[0].strip() if res.returncode == 0 and first else f"unknown (nvidia-smi exit {res.returncode})"


def hardware_info(device: str = "cpu") -> dict[str, str]:
    """GPU or CPU model and software versions for the caption of every efficiency figure.

    Keys: device_name, cpu, cpu_count, torch_threads, python, numpy, torch, cuda, cudnn, driver,
    gpu_memory (the last four are "n/a" on CPU).
    """
    info = {"cpu": cpu_model(), "cpu_count": str(os.cpu_count()), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(terse=True)}
    if "torch" in sys.modules:
        import torch

        info.update(torch=torch.__version__, torch_threads=str(torch.get_num_threads()))
    else:  # a classical fuser's process need not import torch just for a version string
        from importlib import metadata

        try:
            info["torch"] = metadata.version("torch")
        except metadata.PackageNotFoundError:
            info["torch"] = "not installed"
        info["torch_threads"] = "n/a (torch not imported)"
    if device.startswith("cuda"):
        import torch

        idx = torch.device(device).index
        idx = torch.cuda.current_device() if idx is None else idx
        props = torch.cuda.get_device_properties(idx)
        info.update(device_name=torch.cuda.get_device_name(idx), cuda=str(torch.version.cuda),
                    cudnn=str(torch.backends.cudnn.version()), driver=_nvidia_driver(),
                    gpu_memory=f"{props.total_memory / _GIB:.1f} GB")
    else:
        info.update(device_name=info["cpu"], cuda="n/a", cudnn="n/a", driver="n/a", gpu_memory="n/a")
    return info


def hardware_summary(hardware: Mapping[str, str], device: str) -> str:
    """One line for captions, e.g. "GPU NVIDIA A100 (80.0 GB), driver 535.104, CUDA 12.1, PyTorch 2.3.1".

    The number of torch CPU threads is left out (it is a per-process setting; the efficiency
    table shows it separately for CPU rows of PyTorch fusers).
    """
    torch_v = hardware.get("torch", "?")
    if device.startswith("cuda"):
        return (f"GPU {hardware.get('device_name', '?')} ({hardware.get('gpu_memory', '?')}), driver "
                f"{hardware.get('driver', '?')}, CUDA {hardware.get('cuda', '?')}, PyTorch {torch_v}")
    return f"CPU {hardware.get('cpu', '?')} ({hardware.get('cpu_count', '?')} logical cores), PyTorch {torch_v}"


# ---------------------------------------------------------------------- resident set size (Linux)
def _rss_status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_rss_high_water_mark() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write "5" to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _ru_maxrss_bytes() -> int:
    import resource

    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value) if sys.platform == "darwin" else int(value) * 1024  # Linux reports KiB


def _current_rss_bytes() -> int | None:
    return _rss_status_bytes("VmRSS")


# ============================================================================ FLOPs
def _is_torch_fuser(fuser: Any) -> bool:
    from models.base import TorchFuser

    return isinstance(fuser, TorchFuser)


def _sdpa_cpu_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


def count_flops(fuser: Any, size: str | Sequence[int] = (640, 480), *, seed: int = 0) -> FlopCount:
    """Real FLOPs of one forward of a :class:`~models.base.TorchFuser` at batch 1.

    The synthetic pair at ``size`` (W×H) is reflect-padded per the fuser's contract, as
    :meth:`~models.base.Fuser.run` would, and :meth:`~models.base.TorchFuser.fuse_tensor` (eval
    mode, inference mode, the fuser's precision) runs once under
    ``torch.utils.flop_counter.FlopCounterMode``. The counter has formulas for convolutions,
    (batched) matrix products and the CUDA fused attention kernels, counting 2 FLOPs per
    multiply–add; bias additions and element-wise operations are not counted.

    Fused paths that would hide FLOPs, and how they are handled (the model stays in eval mode, so
    dropout and batch-norm statistics are untouched, unlike the train()-mode trick some harnesses use):

    * ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` fast paths (one opaque native op
      in eval + inference mode) are disabled for the duration of the count via
      ``torch.backends.mha.set_fastpath_enabled(False)`` and restored afterwards; the regular
      path computes the same result through counted matrix products and SDPA;
    * SDPA on the CPU dispatches to ``_scaled_dot_product_flash_attention_for_cpu``, which has no
      formula; it gets the same formula as the CUDA flash kernel (``4·B·H·Lq·Lk·d``; causal masks
      are not discounted, as in PyTorch's own formulas). The memory-efficient kernels stay in use,
      so large attention maps are never materialised just to count them.

    Any other op that runs without a formula (e.g. FFTs, matrix–vector products) is listed in
    :attr:`FlopCount.uncounted_ops`: the total is then a lower bound.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torch.utils._python_dispatch import TorchDispatchMode

    from models.base import reflect_pad

    if not _is_torch_fuser(fuser):
        raise TypeError(f"count_flops needs a models.base.TorchFuser, got {type(fuser).__name__} "
                        f"(FlopCounterMode only sees PyTorch operations)")
    ir, vis = synthetic_pair(size, seed)
    m = fuser.contract.pad_multiple
    ir, vis = reflect_pad(ir, m), reflect_pad(vis, m)
    dev = torch.device(fuser.device)
    t_ir = torch.from_numpy(np.ascontiguousarray(ir))[None, None].to(dev)
    t_vis = torch.from_numpy(np.ascontiguousarray(vis))[None, None].to(dev)

    seen: set[str] = set()

    class _OpWatch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops}
    counter = FlopCounterMode(display=False, custom_mapping=mapping)
    fast_path = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with counter, _OpWatch():
            fuser.fuse_tensor(t_ir, t_vis)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path)
    by_op = {str(k): int(v) for k, v in counter.get_flop_counts().get("Global", {}).items()}
    counted = set(by_op) | {str(k) for k in counter.flop_registry}
    uncounted = tuple(sorted(op for op in seen if op in _UNCOUNTED_COMPUTE_OPS and op not in counted))
    return FlopCount(total=int(counter.get_total_flops()), by_op=by_op, uncounted_ops=uncounted,
                     padded_size=(int(ir.shape[1]), int(ir.shape[0])))


# ============================================================================ parameters
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


# ============================================================================ measurement
def _check_counts(runs: int, warmup: int) -> None:
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
    return _profile(fuser, size=size, device=device, runs=runs, warmup=warmup, seed=seed, flops=flops,
                    classical_on_cpu=classical_on_cpu, cpu_memory="reset")


def _profile(fuser: Any, *, size, device: str, runs: int, warmup: int, seed: int, flops: bool,
             classical_on_cpu: bool, cpu_memory: str, mem_baseline: int | None = None) -> EfficiencyRecord:
    from models.base import Fuser

    if not isinstance(fuser, Fuser):
        raise TypeError(f"expected a models.base.Fuser, got {type(fuser).__name__}")
    _check_counts(runs, warmup)
    w, h = parse_size(size)
    notes: list[str] = []
    is_torch = _is_torch_fuser(fuser)
    requested = _normalise_device(device, check_available=False)
    if requested != "cpu" and not is_torch:
        if not classical_on_cpu:
            raise ValueError(f"fuser {fuser.name!r} ({type(fuser).__name__}) runs on the CPU only; profile it "
                             f"with device='cpu' (its figures are then CPU figures) or pass classical_on_cpu=True")
        notes.append(f"CPU-only fuser: measured on the CPU although device={device!r} was requested")
        requested = "cpu"
    device = _normalise_device(requested)
    fuser.to(device)
    cuda = device.startswith("cuda")
    ir, vis = synthetic_pair((w, h), seed)

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
            mem_baseline = _current_rss_bytes()
            mem_kind = MEM_KIND_RESET if _reset_rss_high_water_mark() else MEM_KIND_LIFETIME
        elif cpu_memory == "fresh":
            mem_kind = MEM_KIND_FRESH
        else:
            raise ValueError(f"cpu_memory must be 'reset' or 'fresh', got {cpu_memory!r}")
        for _ in range(runs):
            t0 = time.perf_counter()
            fuser.run(ir, vis)
            latencies.append(time.perf_counter() - t0)
        hwm = _rss_status_bytes("VmHWM") if mem_kind == MEM_KIND_RESET else None
        peak = hwm if hwm is not None else _ru_maxrss_bytes()
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
        flops_resolution = _fmt_size((w, h))
        flops_note = FLOPS_METHOD + f"; one forward at batch 1, input {_fmt_size((w, h))}"
        if fc.padded_size != (w, h):
            flops_note += f" reflect-padded to {_fmt_size(fc.padded_size)} by the fuser's contract"
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
        resolution=_fmt_size((w, h)), what_is_timed=WHAT_IS_TIMED, notes=notes)


# ============================================================================ fresh-process measurement
def _repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def profile_in_subprocess(fuser_name: str, fuser_kwargs: Mapping[str, Any] | None = None, *,
                          size: str | Sequence[int] = (640, 480), device: str = "cpu", runs: int = 10,
                          warmup: int = 2, seed: int = 0, flops: bool = True, classical_on_cpu: bool = False,
                          num_threads: int | None = None, imports: Iterable[str] = (),
                          extra_sys_path: Iterable[str | os.PathLike] = (), timeout: float | None = None,
                          python: str | os.PathLike | None = None) -> EfficiencyRecord:
    """Measure ``create_fuser(fuser_name, **fuser_kwargs)`` in a fresh ``python -m benchmark.profiling``.

    The child builds the fuser, runs :func:`profile_fuser`'s protocol and answers with the record
    as JSON on stdout. On the CPU its peak memory is ``getrusage(RUSAGE_SELF).ru_maxrss`` of the
    child, i.e. the peak RSS of a fresh process that imported the libraries, built this one fuser
    and ran it (``mem_baseline_bytes`` holds the RSS after imports, before the fuser was built). On
    CUDA the figure is ``max_memory_allocated`` in a process that holds nothing else.

    Args:
        fuser_name, fuser_kwargs: what :func:`models.registry.create_fuser` builds (kwargs must be
            JSON-serialisable).
        num_threads: ``torch.set_num_threads`` in the child (None: torch's default).
        imports: modules the child imports before building the fuser (to register fusers that
            ``models`` does not import itself).
        extra_sys_path: directories prepended to the child's ``PYTHONPATH`` (after the repo root).
        timeout: seconds before the child is killed (:class:`ProfilingError`).
        python: interpreter for the child (default: this one).
        Other arguments: as for :func:`profile_fuser`.

    Raises:
        ProfilingError: the child failed (its error message and stderr tail are included).
    """
    if not isinstance(fuser_name, str) or not fuser_name:
        raise TypeError(f"fuser_name must be a non-empty string, got {fuser_name!r}")
    _check_counts(runs, warmup)
    w, h = parse_size(size)
    device = _normalise_device(device, check_available=False)  # availability is checked in the child
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    request = {"fuser": fuser_name, "kwargs": dict(fuser_kwargs or {}), "size": [w, h], "device": device,
               "runs": int(runs), "warmup": int(warmup), "seed": int(seed), "flops": bool(flops),
               "classical_on_cpu": bool(classical_on_cpu), "num_threads": num_threads,
               "imports": [str(m) for m in imports]}
    try:
        payload = json.dumps(request)
    except TypeError as err:
        raise TypeError(f"fuser_kwargs must be JSON-serialisable for the child process: {err}") from None
    env = dict(os.environ)
    paths = [str(_repo_root())] + [str(Path(p)) for p in extra_sys_path]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [str(python or sys.executable), "-m", "benchmark.profiling"]
    try:
        proc = subprocess.run(cmd, input=payload, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        raise ProfilingError(f"profiling {fuser_name!r} in a subprocess timed out after {timeout} s") from err
    answer: dict[str, Any] | None = None
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError:
        answer = None
    if proc.returncode != 0 or not isinstance(answer, dict) or not answer.get("ok"):
        reason = (answer or {}).get("error") or f"exit status {proc.returncode}, no JSON answer on stdout"
        tail = proc.stderr[-4000:]
        raise ProfilingError(f"profiling {fuser_name!r} in a subprocess failed: {reason}\n"
                             f"--- child stderr (last 4000 characters) ---\n{tail}")
    return EfficiencyRecord.from_dict(answer["record"])


def _child_main() -> int:
    """``python -m benchmark.profiling``: read a JSON request on stdin, answer JSON on stdout."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # anything the fuser prints goes to stderr; stdout carries only the answer
    try:
        request = json.loads(sys.stdin.read())
        for name in request.get("imports", []):
            importlib.import_module(name)
        import models

        if request.get("num_threads"):
            import torch

            torch.set_num_threads(int(request["num_threads"]))
        baseline = _ru_maxrss_bytes()  # RSS after imports; replaced by memory_allocated() on CUDA
        fuser = models.create_fuser(request["fuser"], **request["kwargs"])
        record = _profile(fuser, size=tuple(request["size"]), device=request["device"], runs=request["runs"],
                          warmup=request["warmup"], seed=request["seed"], flops=request["flops"],
                          classical_on_cpu=request["classical_on_cpu"], cpu_memory="fresh",
                          mem_baseline=baseline)
        record.process = "fresh subprocess"
        answer, rc = {"ok": True, "record": record.to_dict()}, 0
    except Exception as err:  # reported to the parent, which raises ProfilingError
        answer, rc = {"ok": False, "error": f"{type(err).__name__}: {err}"}, 1
        traceback.print_exc()
    sys.stdout.flush()
    with os.fdopen(answer_fd, "w") as out:
        out.write(json.dumps(answer))
    return rc


# ============================================================================ results I/O
def write_efficiency_json(records: Sequence[EfficiencyRecord], path: str | os.PathLike) -> Path:
    """Write records as a JSON list (atomic: temporary file + rename)."""
    path = Path(path)
    for r in records:
        if not isinstance(r, EfficiencyRecord):
            raise TypeError(f"expected EfficiencyRecord items, got {type(r).__name__}")
    return atomic_write_json(path, [r.to_dict() for r in records])


def read_efficiency_json(path: str | os.PathLike) -> list[EfficiencyRecord]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    return [EfficiencyRecord.from_dict(d) for d in data]


# ============================================================================ table
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
    gb = nbytes / _GIB
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


if __name__ == "__main__":
    sys.exit(_child_main())
