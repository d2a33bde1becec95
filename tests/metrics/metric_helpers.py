"""Helpers shared by the metric tests (imported as ``metric_helpers``; see conftest.py for why)."""
from __future__ import annotations

from collections import Counter

import numpy as np

CONFORMANCE_CHECKED: Counter = Counter()
CONFORMANCE_PASSED: Counter = Counter()


def synthetic_triplet(h: int = 96, w: int = 112, *, colour_vis: bool = False, seed: int = 0):
    """A reproducible (fused, ir, vis) uint8 triplet with smooth shading, edges, texture and a
    flat patch (so degenerate windows occur), for tests that must not depend on ../shared."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ir = 60 + 80 * np.exp(-(((yy - h / 3) / (h / 5)) ** 2 + ((xx - w / 2) / (w / 6)) ** 2))
    ir += rng.normal(0, 4, (h, w))
    ir[h // 2:, : w // 4] = 200.0                      # a hot, perfectly flat block
    vis = 40 + 150 * (xx / w) + 30 * np.sin(yy / 5.0) * (xx > w / 2)
    vis += rng.normal(0, 6, (h, w))
    fused = 0.5 * ir + 0.5 * vis + rng.normal(0, 2, (h, w))
    out = [np.clip(np.round(x), 0, 255).astype(np.uint8) for x in (fused, ir, vis)]
    if colour_vis:
        v = out[2].astype(np.float64)
        rgb = np.stack([v * 0.9 + 20, v, v * 0.7 + 10], axis=-1)
        rgb += rng.normal(0, 3, rgb.shape)
        out[2] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    return tuple(out)
