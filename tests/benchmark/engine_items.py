"""Picklable per-item functions for the executor tests (imported by worker processes: keep it light,
no torch, no benchmark modules beyond what a metric worker imports)."""
from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

METRIC_KEYS = ["EN", "SF", "SD", "MI", "Qabf", "VIF"]


def synthetic_triplet(i: int, size: tuple[int, int] = (48, 56)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A deterministic (fused, ir, vis) uint8 triplet; odd items have a colour visible image."""
    rng = np.random.default_rng(1000 + i)
    h, w = size
    ir = rng.integers(0, 256, (h, w), dtype=np.uint8)
    vis = rng.integers(0, 256, (h, w, 3) if i % 2 else (h, w), dtype=np.uint8)
    vis_grey = vis if vis.ndim == 2 else vis.mean(axis=2)
    fused = np.round((ir.astype(np.float64) + vis_grey) / 2).astype(np.uint8)
    return fused, ir, vis


def square(i: int, *, sleep: float = 0.0) -> int:
    if sleep:
        time.sleep(sleep)
    return i * i


def square_logged(i: int, *, log: str, sleep: float = 0.0) -> int:
    """:func:`square` that first appends ``"<item> <pid>"`` to the file ``log`` (who started what)."""
    with open(log, "a") as f:
        f.write(f"{i} {os.getpid()}\n")
    return square(i, sleep=sleep)


def refuse_some(i: int, *, bad: tuple[int, ...] = ()) -> int:
    if i in bad:
        raise ValueError(f"item {i} refuses")
    return i * i


def kill_own_process(i: int, *, victim: int, sleep: float = 0.0) -> int:
    """Kills the worker process that computes item ``victim`` (as a segfault or the OOM killer would)."""
    if sleep:
        time.sleep(sleep)
    if i == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    return i * i


def worker_state() -> dict:
    """What a worker process has: thread settings and which heavy packages it imported."""
    import torch  # a task that uses torch: the executor must keep it to one thread

    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"dask", "distributed", "dask_jobqueue", "models"})
    return {"torch_threads": torch.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS"),
            "openblas": os.environ.get("OPENBLAS_NUM_THREADS"), "heavy": heavy}


def imported_before_task() -> list[str]:
    """Heavy packages imported by the worker to run a task that imports nothing itself."""
    return sorted({m.split(".")[0] for m in sys.modules} & {"torch", "dask", "distributed", "dask_jobqueue", "models"})
