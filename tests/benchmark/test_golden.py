"""Golden run: a tiny run's summary.csv must equal the committed expected file.

The expected file was produced by this very command on the embedded synthetic data (no
``../shared`` needed). Regenerate it only when a change to fusers, colour handling or metrics is
*meant* to change numbers (bump the metric version then), with::

    python -m benchmark run --datasets synthetic --fusers mean max gff --limit 3 --out /tmp/g \\
        --run-id golden --leaderboard none --no-plots && \\
    cp /tmp/g/golden/summary.csv tests/benchmark/golden/summary_synthetic.csv
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.cli import main

GOLDEN = Path(__file__).parent / "golden" / "summary_synthetic.csv"


def test_tiny_run_matches_golden_summary(tmp_path):
    rc = main(["run", "--datasets", "synthetic", "--fusers", "mean", "max", "gff", "--limit", "3",
               "--out", str(tmp_path), "--run-id", "golden", "--leaderboard", "none", "--no-plots"])
    assert rc == 0
    got = pd.read_csv(tmp_path / "golden" / "summary.csv")
    want = pd.read_csv(GOLDEN)
    assert list(got.columns) == list(want.columns)
    key = ["dataset", "fuser", "metric", "convention"]
    assert got[key].values.tolist() == want[key].values.tolist()
    counts = ["count", "failures", "pairs", "fusion_failures", "missing_fused", "undefined"]
    assert got[counts].values.tolist() == want[counts].values.tolist()
    assert (got["units"].fillna("") == want["units"].fillna("")).all()
    # float64 metrics on identical uint8 images: agreement to rounding noise across BLAS/CPU variants
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["std"], want["std"], rtol=1e-7, atol=1e-12)
