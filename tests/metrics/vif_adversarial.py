"""Adversarial (ir, vis, fused) triplets for the VIF / VIFF decision tests.

Images are built from 72 x 72 blocks (larger than the 65 x 65 full-resolution support of a
scale-4 window, so a constant block holds windows that are constant at every scale). Each block
of each image is flat, flat with sparse +-1 bumps, noisy, a ramp or an edge, at a grey level that
is often a "hard" one (0, 1, 2, 127, 128, 254, 255); VIS is often IR itself, IR +- 1 or an affine
image of IR (near-equal gains), the fused block often a copy, mean or maximum of the sources or
flat. ``level_triplets`` holds 16 x 16 blocks at every grey level 0..255.

Everything is drawn from a counter-based hash (SplitMix64 in uint64 arithmetic), so the images
are the same on every machine and every NumPy version (the recorded Octave values in
``data/vif_octave_reference.json`` were computed on exactly these images).
"""
from __future__ import annotations

import numpy as np

BLOCK = 72
HARD_LEVELS = (0, 1, 2, 127, 128, 254, 255)


class Draws:
    """Deterministic pseudo-random integers: SplitMix64 of (seed, counter)."""

    def __init__(self, seed: int):
        self.state = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64)

    def ints(self, n: int, lo: int, hi: int) -> np.ndarray:
        """``n`` integers in [lo, hi) (int64)."""
        z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z += np.uint64(self.state)
        self.state = (self.state + n * 0x9E3779B97F4A7C15) % (1 << 64)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        return (z % np.uint64(hi - lo)).astype(np.int64) + lo

    def int(self, lo: int, hi: int) -> int:
        return int(self.ints(1, lo, hi)[0])

    def pick(self, options):
        return options[self.int(0, len(options))]


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).astype(np.float64)


def block(r: Draws, kind: str, c: int) -> np.ndarray:
    """One BLOCK x BLOCK block of ``kind`` around grey level ``c``."""
    n = BLOCK * BLOCK
    if kind == "flat":
        return np.full((BLOCK, BLOCK), float(c))
    if kind == "bump":  # flat with a few +-1 pixels (density 1/1000 .. 1/20)
        x = np.full(n, float(c))
        hit = r.ints(n, 0, r.pick((1000, 100, 20))) == 0
        x[hit] += np.where(r.ints(int(hit.sum()), 0, 2) == 0, -1.0, 1.0)
        return _clip(x.reshape(BLOCK, BLOCK))
    if kind == "noise":
        amp = r.pick((1, 2, 10, 40))
        return _clip(c + r.ints(n, -amp, amp + 1).reshape(BLOCK, BLOCK))
    if kind == "ramp":
        a, b = r.int(-8, 9) / 8.0, r.int(-8, 9) / 8.0
        i, j = np.mgrid[0:BLOCK, 0:BLOCK]
        return _clip(np.floor(c + a * i + b * j + 0.5))
    if kind == "edge":
        x = np.full((BLOCK, BLOCK), float(c))
        x[:, r.int(1, BLOCK):] = r.int(0, 256)
        return x
    raise ValueError(kind)


KINDS = ("flat", "bump", "noise", "ramp", "edge")


def _level(r: Draws) -> int:
    return r.pick(HARD_LEVELS) if r.int(0, 10) < 6 else r.int(0, 256)


def block_triplet(seed: int, nb: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ir, vis, fused), each nb*BLOCK square, float64 grey levels."""
    r = Draws(seed)
    size = nb * BLOCK
    ir, vis, fused = (np.empty((size, size)) for _ in range(3))
    for bi in range(nb):
        for bj in range(nb):
            sl = np.s_[bi * BLOCK:(bi + 1) * BLOCK, bj * BLOCK:(bj + 1) * BLOCK]
            a = block(r, r.pick(KINDS), _level(r))
            rel = r.pick(("indep", "equal", "plus1", "minus1", "affine"))
            if rel == "indep":
                b = block(r, r.pick(KINDS), _level(r))
            elif rel == "equal":
                b = a.copy()
            elif rel == "plus1":
                b = _clip(a + 1)
            elif rel == "minus1":
                b = _clip(a - 1)
            else:
                b = _clip(2 * a - _level(r))
            frel = r.pick(("indep", "ir", "vis", "mean", "max", "flat"))
            if frel == "indep":
                f = block(r, r.pick(KINDS), _level(r))
            elif frel == "ir":
                f = a.copy()
            elif frel == "vis":
                f = b.copy()
            elif frel == "mean":
                f = np.floor((a + b) / 2 + 0.5)
            elif frel == "max":
                f = np.maximum(a, b)
            else:
                f = np.full((BLOCK, BLOCK), float(_level(r)))
            ir[sl], vis[sl], fused[sl] = a, b, f
    return ir, vis, fused


LEVEL_LAYOUTS = ("flat-sources", "flat-fused", "flat-ir")


def level_triplet(layout: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """16 x 16 blocks, block k (row-major) at grey level k = 0..255 (1152 x 1152):

    * ``flat-sources``: IR = VIS = k (flat), fused = k with sparse +-1 bumps (exact gain ties);
    * ``flat-fused``: fused = k (flat), IR = k with bumps, VIS = k + small noise;
    * ``flat-ir``: IR = k (flat), VIS = a ramp through k, fused = mean of IR and VIS.
    """
    r = Draws({"flat-sources": 1, "flat-fused": 2, "flat-ir": 3}[layout] + 10_000)
    size = 16 * BLOCK
    ir, vis, fused = (np.empty((size, size)) for _ in range(3))
    for k in range(256):
        bi, bj = divmod(k, 16)
        sl = np.s_[bi * BLOCK:(bi + 1) * BLOCK, bj * BLOCK:(bj + 1) * BLOCK]
        if layout == "flat-sources":
            a = block(r, "flat", k)
            b, f = a, block(r, "bump", k)
        elif layout == "flat-fused":
            a, b, f = block(r, "bump", k), block(r, "noise", k), block(r, "flat", k)
        else:
            a, b = block(r, "flat", k), block(r, "ramp", k)
            f = np.floor((a + b) / 2 + 0.5)
        ir[sl], vis[sl], fused[sl] = a, b, f
    return ir, vis, fused
