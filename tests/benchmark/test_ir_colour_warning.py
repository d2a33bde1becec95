"""An IR image whose channels differ is warned about once per dataset, in the log and summary.json."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from benchmark.cli import main
from benchmark.datasets import Pair
from benchmark.report import render_leaderboard
from benchmark.results import load_summary
from benchmark.warnings_ir import CHANNEL_TOLERANCE, channel_spread, check_ir_colour


def _write(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _msrs(root, n=3, colour=(1,)):
    """A 3-pair MSRS-layout folder; the IR images with index in ``colour`` are true colour."""
    rng = np.random.default_rng(0)
    for i in range(n):
        grey = rng.integers(0, 256, (40, 48), dtype=np.uint8)
        ir = np.stack([grey, grey, grey], -1)
        if i in colour:
            ir[..., 0] = 255 - grey                             # a colour-mapped rendering
        _write(root / "MSRS" / "test" / "ir" / f"{i:05d}.png", ir if i in colour or i % 2 else grey)
        _write(root / "MSRS" / "test" / "vi" / f"{i:05d}.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    return root


def test_channel_spread():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert channel_spread(grey) == 0 and channel_spread(np.stack([grey] * 3, -1)) == 0
    jpeg_like = np.stack([grey, grey + 1, grey], -1)
    assert channel_spread(jpeg_like) == 1 <= CHANNEL_TOLERANCE
    assert channel_spread(np.stack([grey, grey, 255 - grey], -1)) == 255


def test_once_per_dataset_naming_the_file(tmp_path):
    root = _msrs(tmp_path, n=4, colour=(1, 2))
    pairs = [Pair("msrs", f"{i:05d}", root / "MSRS/test/ir" / f"{i:05d}.png", root / "MSRS/test/vi" / f"{i:05d}.png")
             for i in range(4)]
    logged: list[str] = []
    found = check_ir_colour("msrs", pairs, logged.append)
    assert len(found) == 1 and len(logged) == 1 and found[0]["pair"] == "00001"
    assert str(root / "MSRS/test/ir/00001.png") in logged[0] and "true colour" in logged[0]
    assert check_ir_colour("msrs", pairs[:1] + pairs[3:], logged.append) == [] and len(logged) == 1  # grey only


def test_a_run_records_the_warning_in_the_log_summary_and_leaderboard(tmp_path, capsys):
    root = _msrs(tmp_path / "data")
    rc = main(["run", "--datasets", "msrs", "--data-root", str(root), "--fusers", "mean", "--metrics", "EN",
               "--out", str(tmp_path / "res"), "--run-id", "r", "--leaderboard", str(tmp_path / "lb.md"),
               "--no-plots", "--no-progress"])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count("is true colour") == 1 and "00001.png" in err
    warnings = json.loads((tmp_path / "res" / "r" / "summary.json").read_text())["warnings"]
    assert [(w["dataset"], w["kind"], w["pair"]) for w in warnings] == [("msrs", "ir_true_colour", "00001")]
    assert "**Warning**: [msrs] IR image" in (tmp_path / "lb.md").read_text()
    assert "**Warning**" in render_leaderboard([load_summary(tmp_path / "res" / "r")])



def test_the_run_measures_loaded_images_and_a_cached_rerun_reads_the_records(tmp_path, capsys, monkeypatch):
    """The check uses the IR images the runner loads anyway (no second decode) and the spread kept in
    each pair's cache record: a rerun with everything cached decodes no IR image and warns the same."""
    import benchmark.io as bio

    opened: list[str] = []
    real_read = bio.read_image

    def read_spy(path, *a, **k):   # what the check itself decodes (the loader reads through the dataset)
        opened.append(str(path))
        return real_read(path, *a, **k)

    monkeypatch.setattr(bio, "read_image", read_spy)
    root = _msrs(tmp_path / "data", n=4, colour=(2,))
    argv = ["run", "--datasets", "msrs", "--data-root", str(root), "--fusers", "mean", "--metrics", "EN",
            "--out", str(tmp_path / "res"), "--leaderboard", "none", "--no-plots", "--no-progress"]
    for run_id in ("first", "again"):
        opened.clear()
        assert main(argv + ["--run-id", run_id]) == 0
        assert not [p for p in opened if "/ir/" in p], run_id
        err = capsys.readouterr().err
        assert err.count("is true colour") == 1 and "00002.png" in err
        summary = json.loads((tmp_path / "res" / run_id / "summary.json").read_text())
        assert [w["pair"] for w in summary["warnings"]] == ["00002"]
    records = [json.loads(p.read_text()) for p in (tmp_path / "res").rglob("*.json")]
    spreads = {r["pair"]: r.get("ir_channel_spread") for r in records if isinstance(r, dict) and "source_hash" in r}
    assert spreads == {"00000": 0, "00001": 0, "00002": 255, "00003": 0}


def test_records_without_the_spread_are_decoded(tmp_path):
    """Pairs that need no work and whose records predate the spread field are read for the check."""
    root = _msrs(tmp_path, n=3, colour=(1,))
    pairs = [Pair("msrs", f"{i:05d}", root / "MSRS/test/ir" / f"{i:05d}.png", root / "MSRS/test/vi" / f"{i:05d}.png")
             for i in range(3)]
    logged: list[str] = []
    assert check_ir_colour("msrs", pairs, logged.append, known={"00000": 0, "00002": 0})[0]["pair"] == "00001"
    assert check_ir_colour("msrs", pairs, logged.append, known={"00001": 0}) == []   # a known spread is trusted
