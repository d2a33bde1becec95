"""CLI end to end: run on synthetic and on ../shared/datasets, ls, validate, report, did-you-mean, resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.pairs import CACHE_FORMAT
from benchmark.report import MEASURED_BEGIN, strip_measured

REPO = Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def test_run_synthetic_end_to_end(tmp_path, capsys):
    lb = tmp_path / "leaderboard.md"
    rc = main(["run", "--fusers", "mean", "max", "--metrics", "EN", "SD", "Qabf", "--out", str(tmp_path / "res"),
               "--leaderboard", str(lb), "--no-plots"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "results:" in out and "leaderboard:" in out
    run_dir = next((tmp_path / "res").glob("run-*"))
    for name in ("config.json", "per_image.csv", "summary.csv", "summary.json"):
        assert (run_dir / name).is_file(), name
    per = pd.read_csv(run_dir / "per_image.csv")
    assert len(per) == 2 * 8 * 3
    assert set(per["convention"]) == {"tang2023"}
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["config"]["fusers"] == ["mean", "max"]
    assert {"versions", "git", "hardware"} <= set(cfg)
    fused = sorted((run_dir / "fused" / "synthetic" / "mean").glob("*.png"))
    assert len(fused) == 8
    text = lb.read_text()
    assert "## Synthetic (embedded) — `tang2023`" in text and "EN ↑" in text and "Qabf ↑" in text
    assert MEASURED_BEGIN in text
    # the rerun takes everything from the cache
    rc = main(["run", "--fusers", "mean", "max", "--metrics", "EN", "SD", "Qabf", "--out", str(tmp_path / "res"),
               "--leaderboard", str(lb), "--no-plots"])
    assert rc == 0
    assert "16 from cache" in capsys.readouterr().out


def test_run_shared_msrs_llvip_subset_captions(tmp_path, shared_datasets_dir, capsys):
    lb = tmp_path / "leaderboard.md"
    rc = main(["run", "--datasets", "msrs", "llvip", "--data-root", str(shared_datasets_dir), "--fusers", "mean",
               "--metrics", "EN", "SF", "--out", str(tmp_path / "res"), "--leaderboard", str(lb), "--no-plots"])
    assert rc == 0
    text = lb.read_text()
    assert "## MSRS" in text and "## LLVIP" in text
    assert "**subset**: 4 of the 361 pairs" in text
    assert "**subset**: 4 of the 3463 pairs" in text


def test_unknown_names_suggest_and_exit_2(tmp_path, capsys):
    assert main(["run", "--datasets", "msr", "--out", str(tmp_path)]) == 2
    assert "did you mean 'msrs'" in capsys.readouterr().err
    assert main(["run", "--fusers", "maen", "--out", str(tmp_path)]) == 2
    assert "did you mean 'mean'" in capsys.readouterr().err
    assert main(["run", "--metrics", "ENN", "--out", str(tmp_path)]) == 2
    assert "EN" in capsys.readouterr().err
    assert main(["run", "--convention", "tang2024", "--out", str(tmp_path)]) == 2
    assert "tang2023" in capsys.readouterr().err


def test_missing_dataset_explains_layout(tmp_path, capsys):
    rc = main(["run", "--datasets", "msrs", "--data-root", str(tmp_path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "MSRS/test/ir" in err and "MSRS/test/vi" in err and "Traceback" not in err


def test_ls_and_validate(shared_datasets_dir, capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for word in ("datasets:", "fusers:", "metrics:", "conventions:", "msrs", "mean", "MS-SSIM", "tang2023"):
        assert word in out
    assert main(["ls", "--fusers", "-v"]) == 0
    assert main(["validate", "--data-root", str(shared_datasets_dir)]) == 0
    out = capsys.readouterr().out
    assert "msrs           subset    4 / 361 pairs" in out
    assert "llvip          subset    4 / 3463 pairs" in out
    assert "tno            subset    4 / 25 pairs" in out
    assert "roadscene      subset    4 / 221 pairs" in out
    assert "harvard-ct     subset    4 / 21 pairs" in out
    assert "m3fd           missing   0 / 300 pairs" in out


def test_report_check_detects_stale(tmp_path, capsys):
    lb = tmp_path / "leaderboard.md"
    res = tmp_path / "res"
    assert main(["run", "--fusers", "mean", "max", "--metrics", "SD", "--out", str(res), "--leaderboard", str(lb),
                 "--no-plots", "--run-id", "r1"]) == 0
    assert main(["report", "--runs", str(res / "r1"), "--check", str(lb)]) == 0
    # measured blocks may differ freely
    text = lb.read_text()
    lb.write_text(text.replace("Measured fusion time", "Measured fusion time (other machine)"))
    assert main(["report", "--runs", str(res / "r1"), "--check", str(lb)]) == 0
    # a changed number in a quality table is stale
    quality = strip_measured(text)
    row = next(l for l in quality.splitlines() if l.startswith("| mean"))
    lb.write_text(text.replace(row, row.replace("|", "| 9.9999", 2).replace("| 9.9999", "|", 1)))
    assert main(["report", "--runs", str(res / "r1"), "--check", str(lb)]) == 1
    assert "stale" in capsys.readouterr().err


def test_config_file_and_fuser_args(tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("datasets: [synthetic]\nfusers: [mean]\nmetrics: [EN]\nlimit: 2\n")
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "res"), "--leaderboard", "none",
                 "--no-plots", "--fuser-arg", "weight=0.8"]) == 0
    run_dir = next((tmp_path / "res").glob("run-*"))
    saved = json.loads((run_dir / "config.json").read_text())["config"]
    assert saved["limit"] == 2 and saved["fuser_args"] == {"*": {"weight": 0.8}}
    bad = tmp_path / "bad.toml"
    bad.write_text('datasets = ["synthetic"]\nfuser = ["mean"]\n')
    assert main(["run", "--config", str(bad), "--out", str(tmp_path / "res")]) == 2
    assert "did you mean 'fusers'" in capsys.readouterr().err


def test_failing_fuser_is_recorded_and_run_continues(tmp_path, capsys):
    rc = main(["run", "--fusers", "tests.plugins.user_fusers:Broken", "mean", "--metrics", "EN",
               "--out", str(tmp_path / "res"), "--leaderboard", str(tmp_path / "lb.md"), "--no-plots"])
    assert rc == 1
    run_dir = next((tmp_path / "res").glob("run-*"))
    summary = json.loads((run_dir / "summary.json").read_text())
    msgs = [f["message"] for f in summary["failures"]]
    assert any("broken on odd widths" in m for m in msgs)
    assert any("NaN" in m for m in msgs)
    per = pd.read_csv(run_dir / "per_image.csv")
    assert (per["fuser"] == "mean").sum() == 8          # the other fuser is unaffected
    assert "Failed pairs" in (tmp_path / "lb.md").read_text()


@pytest.mark.slow
def test_killed_run_resumes_each_pair_once(tmp_path):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "benchmark", "run", "--fusers", "tests.plugins.user_fusers:SlowMean",
           "--metrics", "EN", "SD", "--out", str(out), "--run-id", "k", "--leaderboard", "none", "--no-plots",
           "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    cache = out / ".cache" / "synthetic"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.rglob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(cache.rglob("*.json")))
    assert 3 <= done_before < 8, "the run should have been killed mid-way"
    for rec in cache.rglob("*.json"):    # atomic writes: no torn record, whatever moment the kill hit
        assert json.loads(rec.read_text())["format"] == CACHE_FORMAT, rec
    assert all(p.name.startswith(".") for p in cache.rglob("*.tmp"))   # leftovers stay hidden temporaries
    res = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    per = pd.read_csv(out / "k" / "per_image.csv")
    counts = per.groupby(["pair", "metric"]).size()
    assert len(counts) == 8 * 2 and (counts == 1).all()
    assert f"{done_before - 1} from cache" in res.stdout or f"{done_before} from cache" in res.stdout
