"""Inputs of a measurement: the W×H size, the smooth input pair, the device."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

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


def fmt_size(size: tuple[int, int]) -> str:
    """``(640, 480)`` -> ``"640×480"`` (W×H)."""
    return f"{size[0]}×{size[1]}"


def smooth_input_pair(size: str | Sequence[int] = (640, 480), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The input of every efficiency measurement: a smooth, seeded (IR, VIS Y) pair of float32 H×W
    arrays in [0.1, 0.9] at any size (unlike the ``synthetic`` dataset's fixed-size uint8 scenes,
    :func:`benchmark.datasets.synthetic_pair`, which are for metrics and fusion results).

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


def normalise_device(device: str, *, check_available: bool = True) -> str:
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
