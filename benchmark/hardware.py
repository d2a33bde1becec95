"""The hardware description stored with every measured figure (one dict, the same keys everywhere).

Used for run provenance (``config.json`` / ``summary.json``), for the fusion latency of every pair
(kept in its cache record, so a cached latency keeps the machine it was measured on) and for every
efficiency record. PyTorch is asked for its thread count only when it is already imported (a run of
weight-free fusers never imports it), and for the GPU only when a CUDA device is described.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from typing import Any, Mapping

#: the keys of every hardware description
HARDWARE_KEYS = ("device_name", "cpu", "cpu_count", "machine", "platform", "python", "numpy", "torch",
                 "torch_threads", "cuda", "cudnn", "driver", "gpu_memory")

_GIB = float(1 << 30)


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


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def hardware_info(device: str = "cpu") -> dict[str, str]:
    """GPU or CPU model and software versions of this process, with the keys :data:`HARDWARE_KEYS`.

    ``device_name`` is the GPU for a CUDA ``device``, else the CPU; ``cuda``, ``cudnn``, ``driver`` and
    ``gpu_memory`` are "n/a" on the CPU; ``torch_threads`` says "n/a (torch not imported)" when the
    process never imported PyTorch.
    """
    torch = sys.modules.get("torch")
    info = {"cpu": cpu_model(), "cpu_count": str(os.cpu_count()), "machine": platform.machine(),
            "platform": platform.platform(terse=True), "python": platform.python_version(),
            "numpy": _version("numpy")}
    if torch is not None:
        info.update(torch=torch.__version__, torch_threads=str(torch.get_num_threads()))
    else:  # a classical fuser's process need not import torch just for a version string
        info.update(torch=_version("torch"), torch_threads="n/a (torch not imported)")
    if str(device).startswith("cuda"):
        import torch

        idx = torch.device(device).index
        idx = torch.cuda.current_device() if idx is None else idx
        props = torch.cuda.get_device_properties(idx)
        info.update(device_name=torch.cuda.get_device_name(idx), cuda=str(torch.version.cuda),
                    cudnn=str(torch.backends.cudnn.version()), driver=_nvidia_driver(),
                    gpu_memory=f"{props.total_memory / _GIB:.1f} GB")
    else:
        info.update(device_name=info["cpu"], cuda="n/a", cudnn="n/a", driver="n/a", gpu_memory="n/a")
    return {k: info[k] for k in HARDWARE_KEYS}


def hardware_summary(hardware: Mapping[str, Any], device: str) -> str:
    """One line for captions, e.g. "GPU NVIDIA A100 (80.0 GB), driver 535.104, CUDA 12.1, PyTorch 2.3.1".

    The number of torch CPU threads is left out (it is a per-process setting; the efficiency
    table shows it separately for CPU rows of PyTorch fusers).
    """
    torch_v = hardware.get("torch", "?")
    if str(device).startswith("cuda"):
        return (f"GPU {hardware.get('device_name', '?')} ({hardware.get('gpu_memory', '?')}), driver "
                f"{hardware.get('driver', '?')}, CUDA {hardware.get('cuda', '?')}, PyTorch {torch_v}")
    return f"CPU {hardware.get('cpu', '?')} ({hardware.get('cpu_count', '?')} logical cores), PyTorch {torch_v}"
