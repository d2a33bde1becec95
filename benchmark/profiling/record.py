"""The efficiency record (one row of the efficiency table), what its figures mean, and its JSON files."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ivif_toolbox import atomic_write_json

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

GIB = float(1 << 30)


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
        hardware: GPU/CPU model and software versions (:func:`benchmark.hardware.hardware_info`).
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
        return self.peak_mem_bytes / GIB

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


# ---------------------------------------------------------------------------------------- JSON files
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
