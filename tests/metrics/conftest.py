"""Fixtures for the metric tests and the conformance summary line.

The conformance tests record, per reference source, how many fixture records they checked and how
many were within tolerance; :func:`pytest_terminal_summary` prints that at the end of the run, e.g.
``metrics conformance: 1974 reference records checked, 1974 within tolerance (octave 1008 ...)``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# the counters and helpers live in a uniquely named module: several conftest.py files exist under
# tests/, so ``from conftest import ...`` would resolve to whichever was imported first
from metric_helpers import CONFORMANCE_CHECKED, CONFORMANCE_PASSED  # noqa: E402


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
