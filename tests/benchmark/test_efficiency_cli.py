"""`run --profile` puts the efficiency block and plot links into the leaderboard; `profile` prints the table."""
from __future__ import annotations

from pathlib import Path

import models
from benchmark.cli import main


def test_run_with_profile_writes_efficiency_block_and_plots(tmp_path, capsys):
    lb = tmp_path / "leaderboard.md"
    rc = main(["run", "--fusers", "mean", "max", "--metrics", "EN", "SD", "SF", "--limit", "3", "--profile",
               "--out", str(tmp_path / "res"), "--leaderboard", str(lb)])
    assert rc == 0, capsys.readouterr().err
    text = lb.read_text()
    assert "## Efficiency (measured)" in text and "Time (s, CPU)" in text and "Peak RSS (GB, CPU)" in text
    assert "Efficiency reported by the authors" in text and "386.358" in text
    assert "## Plots" in text
    links = [part.split(")")[0] for part in text.split("](")[1:] if part.split(")")[0].endswith(".png")]
    assert len(links) == 3
    for link in links:
        assert (lb.parent / link).is_file(), link


def test_profile_command_prints_table(capsys):
    names = ["mean"] + [n for n in ("dmnet-tiny", "red-tiny") if n in models.FUSERS]
    assert main(["profile", "--fusers", *names, "--size", "64x48", "--runs", "2", "--warmup", "1", "--no-flops"]) == 0
    out = capsys.readouterr().out
    assert "| Method" in out and "CPU figures" in out
    for n in names:
        assert f"| {n}" in out
