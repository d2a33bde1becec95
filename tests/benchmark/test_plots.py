"""Figures (benchmark.plots): each is a valid PNG of the documented pixel size."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmark import plots, qualitative

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRICS = ["EN", "SF", "AG", "SD", "MI", "Nabf"]
HIB = {m: m != "Nabf" for m in METRICS}
NAMES = {"Nabf": "N^AB/F"}


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(path) as im:
        im.load()  # decodes the whole image
        assert im.format == "PNG"
        return im.size


@pytest.fixture
def summary() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for ds in ("msrs", "tno"):
        for f in ("mean", "max", "dmnet-tiny"):
            for m in METRICS:
                rows.append({"dataset": ds, "fuser": f, "metric": m, "convention": "tang2022",
                             "mean": float(rng.uniform(0.1, 10)), "std": float(rng.uniform(0, 1)), "count": 4})
    return pd.DataFrame(rows)


def test_metric_bars_png_size(summary, tmp_path):
    out = plots.metric_bars(summary, "msrs", tmp_path / "plots" / "msrs_bars.png", metric_order=METRICS,
                            higher_is_better=HIB, display_names=NAMES, panel_px=(200, 180), header_px=30)
    assert out == tmp_path / "plots" / "msrs_bars.png"
    # 6 metrics -> 4 columns, 2 rows
    assert _png_size(out) == (4 * 200, 2 * 180 + 30)
    assert [p.name for p in out.parent.iterdir()] == ["msrs_bars.png"]  # no temporary file left


def test_metric_bars_checks_inputs(summary, tmp_path):
    with pytest.raises(ValueError, match="not in the summary"):
        plots.metric_bars(summary, "llvip", tmp_path / "x.png", metric_order=METRICS, higher_is_better=HIB,
                          display_names={})
    with pytest.raises(ValueError, match="higher_is_better"):
        plots.metric_bars(summary, "msrs", tmp_path / "x.png", metric_order=METRICS,
                          higher_is_better={"EN": True}, display_names={})
    two_conv = pd.concat([summary, summary.assign(convention="cddfuse")])
    with pytest.raises(ValueError, match="several metric conventions"):
        plots.metric_bars(two_conv, "msrs", tmp_path / "x.png", metric_order=METRICS, higher_is_better=HIB,
                          display_names={})
    out = plots.metric_bars(two_conv, "msrs", tmp_path / "x.png", metric_order=METRICS, higher_is_better=HIB,
                            display_names={}, convention="cddfuse", panel_px=(120, 100), header_px=20)
    assert _png_size(out) == (480, 220)
    with pytest.raises(ValueError, match="columns"):
        plots.metric_bars(summary.drop(columns="std"), "msrs", tmp_path / "x.png", metric_order=METRICS,
                          higher_is_better=HIB, display_names={})
    with pytest.raises(ValueError, match=r"\.png"):
        plots.metric_bars(summary, "msrs", tmp_path / "x.jpg", metric_order=METRICS, higher_is_better=HIB,
                          display_names={})


def test_metric_radar_png_size_and_normalisation(summary, tmp_path):
    out = plots.metric_radar(summary, "tno", tmp_path / "tno_radar.png", metric_order=METRICS,
                             higher_is_better=HIB, display_names=NAMES, size_px=(500, 400))
    assert _png_size(out) == (500, 400)

    sub = summary[summary["dataset"] == "tno"]
    fusers = ["mean", "max", "dmnet-tiny"]
    scores, omitted, ties, kept = plots.normalised_scores(sub, METRICS, fusers, HIB)
    assert kept == METRICS and omitted == [] and ties == []
    assert scores.shape == (3, len(METRICS)) and scores.min() == 0.0 and scores.max() == 1.0
    nabf = sub[sub["metric"] == "Nabf"].set_index("fuser")["mean"]
    best = nabf.idxmin()  # lower is better: the smallest Nabf must score 1
    assert math.isclose(scores[fusers.index(best), METRICS.index("Nabf")], 1.0)


def test_metric_radar_needs_two_fusers_and_three_metrics(summary, tmp_path):
    one = summary[summary["fuser"] == "mean"]
    with pytest.raises(ValueError, match="at least 2"):
        plots.metric_radar(one, "msrs", tmp_path / "r.png", metric_order=METRICS, higher_is_better=HIB,
                           display_names={})
    nan = summary.copy()
    nan.loc[nan["metric"].isin(["EN", "SF", "AG", "SD"]) & (nan["fuser"] == "max"), "mean"] = np.nan
    with pytest.raises(ValueError, match="at least 3 metrics"):
        plots.metric_radar(nan, "msrs", tmp_path / "r.png", metric_order=METRICS, higher_is_better=HIB,
                           display_names={})


def _pair(h: int, w: int, seed: int):
    rng = np.random.default_rng(seed)
    ir = rng.integers(0, 256, (h, w), dtype=np.uint8)
    vis = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    fused = {"mean": ((ir.astype(np.uint16) + vis[..., 0]) // 2).astype(np.uint8),
             "max": np.maximum(ir, vis[..., 1]), "rgb": vis[::-1].copy()}
    return ir, vis, fused


def test_qualitative_grid_png_size(tmp_path):
    rows = [(f"{i:05d}N", *_pair(48, 64, i)) for i in range(3)]
    names = ["mean", "max", "rgb"]
    out = qualitative.qualitative_grid(rows, names, tmp_path / "msrs_grid.png", zoom=(0.25, 0.25, 0.2, 0.2),
                                 title="MSRS", panel_px=(96, 72), label_px=20, header_px=18, title_px=24, gap_px=3)
    ncols = 2 + len(names)
    assert _png_size(out) == (20 + ncols * 96 + (ncols - 1) * 3, 18 + 24 + 3 * 72 + 2 * 3)
    # default panel size: width 256, height from the first row's aspect; pixel zoom; rows of different sizes
    rows2 = [("a", *_pair(48, 64, 1)), ("b", *_pair(30, 50, 2))]
    out2 = qualitative.qualitative_grid(rows2, ["mean"], tmp_path / "g2.png", zoom=[(4, 4, 8, 8), (2, 2, 6, 8)])
    assert _png_size(out2) == (24 + 3 * 256 + 2 * 4, 22 + 2 * 192 + 4)


def test_zoom_inset_enlarges_the_crop_without_changing_pixels():
    img = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    box = qualitative._zoom_box((0.1, 0.2, 0.1, 0.1), 60, 80, "test")
    assert box == (6, 16, 6, 8)
    out = qualitative._with_inset(img, box, np.array([255, 0, 0], np.uint8), 0.45)
    factor = 4  # largest integer with 6·f ≤ 0.45·60 and 8·f ≤ 0.45·80
    crop = img[6:12, 16:24]
    big = np.repeat(np.repeat(crop, factor, 0), factor, 1)
    t = 1
    inner = out[60 - big.shape[0] + t:60 - t, 80 - big.shape[1] + t:80 - t]
    assert np.array_equal(inner, big[t:-t, t:-t])  # nearest-neighbour: original pixel values only
    assert np.array_equal(out[7, 17], img[7, 17]) and tuple(out[6, 16]) == (255, 0, 0)


def test_qualitative_grid_checks_inputs(tmp_path):
    ir, vis, fused = _pair(32, 32, 0)
    with pytest.raises(ValueError, match="2–4"):
        qualitative.qualitative_grid([("a", ir, vis, fused)], ["mean"], tmp_path / "g.png")
    with pytest.raises(ValueError, match="no fused image"):
        qualitative.qualitative_grid([("a", ir, vis, fused)] * 2, ["nope"], tmp_path / "g.png")
    with pytest.raises(TypeError, match="uint8"):
        qualitative.qualitative_grid([("a", ir.astype(np.float32), vis, fused)] * 2, ["mean"], tmp_path / "g.png")
    with pytest.raises(ValueError, match="IR is 32×32"):
        qualitative.qualitative_grid([("a", ir, vis[:16], fused)] * 2, ["mean"], tmp_path / "g.png")
    with pytest.raises(TypeError, match="all ints"):
        qualitative.qualitative_grid([("a", ir, vis, fused)] * 2, ["mean"], tmp_path / "g.png", zoom=(0.1, 2, 0.1, 0.1))
    with pytest.raises(ValueError, match="too large"):
        qualitative.qualitative_grid([("a", ir, vis, fused)] * 2, ["mean"], tmp_path / "g.png", zoom=(0.0, 0.0, 0.5, 0.5))
    with pytest.raises(ValueError, match="does not fit"):
        qualitative.qualitative_grid([("a", ir, vis, fused)] * 2, ["mean"], tmp_path / "g.png", zoom=(30, 30, 8, 8))


def test_plot_summary_files_and_skipped_radars(summary, tmp_path):
    run = tmp_path / "run"
    ps = plots.plot_summary(summary, run / "plots", metric_order=METRICS, higher_is_better=HIB, display_names=NAMES)
    assert [(f.kind, f.dataset) for f in ps.files] == [("bars", "msrs"), ("radar", "msrs"), ("bars", "tno"),
                                                      ("radar", "tno")]
    for f in ps.files:
        _png_size(f.path)
    assert [f.path for f in ps.files] == [run / "plots" / f"{d}_tang2022_{k}.png"
                                          for d in ("msrs", "tno") for k in ("bars", "radar")]
    one = plots.plot_summary(summary[summary["fuser"] == "mean"], run / "p1", metric_order=METRICS,
                             higher_is_better=HIB, display_names=NAMES)
    assert [f.kind for f in one.files] == ["bars", "bars"] and len(one.skipped) == 2
    assert "radar chart for msrs" in one.skipped[0] and "needs at least 2" in one.skipped[0]


def test_plotting_leaves_matplotlib_global_state_alone(tmp_path):
    """No pyplot, no backend switch: checked in a fresh interpreter (other tests may import pyplot)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, matplotlib, pandas as pd\n"
        "before = dict.__getitem__(matplotlib.rcParams, 'backend')  # plain read: no backend resolution\n"
        "from benchmark import plots\n"
        "df = pd.DataFrame([dict(dataset='d', fuser=f, metric=m, convention='c', mean=float(i + j), std=0.1, count=2)\n"
        "                   for i, f in enumerate('ab') for j, m in enumerate('xyz')])\n"
        "plots.metric_bars(df, 'd', sys.argv[1], metric_order=list('xyz'),\n"
        "                  higher_is_better=dict.fromkeys('xyz', True), display_names={}, panel_px=(100, 100))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert dict.__getitem__(matplotlib.rcParams, 'backend') == before, 'backend changed'\n"
    )
    root = Path(plots.__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b.png")], capture_output=True, text=True,
                         cwd=root, timeout=300)
    assert res.returncode == 0, res.stderr
    assert _png_size(tmp_path / "b.png") == (300, 130)
