"""Helpers shared by the metric tests (imported as ``metric_helpers``; see conftest.py for why)."""
from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

# conformance records checked / within tolerance, keyed by (place, source)
CONFORMANCE_CHECKED: Counter = Counter()
CONFORMANCE_PASSED: Counter = Counter()
IN_REPO_FIXTURES = Path(__file__).resolve().parent / "conformance"
CONFORMANCE_PLACES = {"tests": "tests/metrics/conformance (in repository)",
                      "shared": "../shared/fixtures/metrics (full set)"}


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


@lru_cache(maxsize=None)
def _load_records(path: str) -> tuple:
    return tuple(json.loads(Path(path).read_text()))


def load_records(folder: Path) -> tuple:
    """The records of ``folder/reference.json`` (cached)."""
    return _load_records(str(folder / "reference.json"))


@lru_cache(maxsize=128)
def _read(path: str) -> np.ndarray:
    a = np.asarray(Image.open(path))
    a.setflags(write=False)
    return a


def read_fixture_image(folder: Path, name: str) -> np.ndarray:
    """A fixture image as PIL decodes it (uint8, H x W or H x W x 3), cached, read-only."""
    return _read(str(folder / name))
