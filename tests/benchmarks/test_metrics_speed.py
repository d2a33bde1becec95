"""pytest-benchmark timings of every metric and of the full set (not part of the default run).

Run with ``python -m pytest tests/benchmarks --benchmark-only`` (pyproject's ``addopts`` has
``--benchmark-skip``). For single-thread figures set ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``
in the environment, or use ``benchmarks/metrics_speed.py``, which sets them itself; the full-set
timings run torch (ivifzoo MS-SSIM and VIF) with one intra-op thread.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import metrics

pytestmark = pytest.mark.benchmark

SIZES = {"640x480": (480, 640), "1280x1024": (1024, 1280)}


def _triplet(h: int, w: int):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    ir = 80 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0) + rng.normal(0, 6, (h, w))
    vis = 100 + 0.05 * xx + 40 * np.sin(yy / 11.0) + rng.normal(0, 8, (h, w))
    fused = 0.5 * ir + 0.5 * vis
    return tuple(np.clip(np.round(x), 0, 255).astype(np.uint8) for x in (fused, ir, vis))


@pytest.fixture(scope="module", params=list(SIZES))
def triplet(request):
    return request.param, _triplet(*SIZES[request.param])


@pytest.mark.parametrize("key", list(metrics.METRICS))
def test_metric(benchmark, triplet, key):
    size, (f, a, b) = triplet
    benchmark.group = f"metric {size}"
    value = benchmark(metrics.compute, f, a, b, [key], "tang2023")[key]
    assert np.isfinite(value)


@pytest.mark.parametrize("convention", list(metrics.CONVENTIONS))
def test_all_twelve(benchmark, triplet, convention, one_torch_thread):
    size, (f, a, b) = triplet
    benchmark.group = f"all 12 {size}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.MetricWarning)
        values = benchmark(metrics.compute, f, a, b, None, convention)
    assert len(values) == 12
