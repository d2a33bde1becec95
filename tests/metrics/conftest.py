"""Fixtures for the metric tests and the conformance summary line.

The conformance tests record, per reference source, how many fixture records they checked and how
many were within tolerance; :func:`pytest_terminal_summary` prints that at the end of the run, e.g.
``metrics conformance: 1974 reference records checked, 1974 within tolerance (octave 1008 ...)``.
"""
from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CONFORMANCE_CHECKED: Counter = Counter()
CONFORMANCE_PASSED: Counter = Counter()
CONFORMANCE_SENSITIVE: Counter = Counter()  # float32-sensitive records within their wider bound


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not CONFORMANCE_CHECKED:
        return
    total = sum(CONFORMANCE_CHECKED.values())
    ok = sum(CONFORMANCE_PASSED.values())
    per = ", ".join(f"{src} {CONFORMANCE_PASSED[src]}/{n}"
                    for src, n in sorted(CONFORMANCE_CHECKED.items()))
    terminalreporter.write_sep(
        "-", f"metrics conformance: {total} reference records checked, {ok} within tolerance "
             f"({per})")
    if CONFORMANCE_SENSITIVE:
        extra = ", ".join(f"{k} {n}" for k, n in sorted(CONFORMANCE_SENSITIVE.items()))
        terminalreporter.write_line(
            f"  outside the strict tolerance but within the float32-peer bound "
            f"(see test_conformance.FLOAT32_SENSITIVE): {extra}")


@lru_cache(maxsize=None)
def _load_records(path: str) -> tuple:
    return tuple(json.loads(Path(path).read_text()))


@pytest.fixture(scope="session")
def reference_records(metric_fixtures_dir) -> tuple:
    return _load_records(str(metric_fixtures_dir / "reference.json"))


@lru_cache(maxsize=128)
def _read(path: str) -> np.ndarray:
    a = np.asarray(Image.open(path))
    a.setflags(write=False)
    return a


@pytest.fixture(scope="session")
def read_image(metric_fixtures_dir):
    """``read_image(name)``: a fixture image as PIL decodes it (uint8, H x W or H x W x 3), cached."""
    return lambda name: _read(str(metric_fixtures_dir / name))


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
