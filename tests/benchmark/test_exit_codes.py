"""Exit codes are defined once (benchmark.errors), documented in --help and the README, and an
environment error is one `error:` line naming the path, never a traceback; nothing computed is lost."""
from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import benchmark.api
import ivif_toolbox.atomic as atomic
from benchmark.cli import build_parser, main
from benchmark.errors import EXIT_CODE_LINES, ExitCode

REPO = Path(__file__).resolve().parents[2]
RUN = ["run", "--fusers", "mean", "--metrics", "EN", "--limit", "2", "--no-plots", "--no-progress"]


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_codes_are_distinct_and_documented():
    codes = [int(c) for c, _ in EXIT_CODE_LINES]
    assert codes == [0, 1, 2, 3, 130] == sorted({int(c) for c in ExitCode})
    help_text = build_parser().format_help()
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Exit codes"):]
    for code, _ in EXIT_CODE_LINES:
        assert re.search(rf"^\s+{int(code)}\s", help_text, flags=re.M), f"--help lacks exit code {int(code)}"
        assert re.search(rf"^\| `{int(code)}` \|", section, flags=re.M), f"README lacks exit code {int(code)}"


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(RUN + ["--jobs", "two", "--out", str(tmp_path)]) == 2
    assert _one_error_line(capsys.readouterr().err) == "error: jobs: expected an integer, got str 'two'"
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [synthetic\n")
    assert main(["run", "--config", str(bad)]) == 2
    assert "cannot parse it" in _one_error_line(capsys.readouterr().err)
    assert main(["report", "--runs", str(tmp_path / "nothing")]) == 2
    assert f"runs: {tmp_path / 'nothing'}: no such folder" in _one_error_line(capsys.readouterr().err)
    (tmp_path / "unfinished").mkdir()
    assert main(["report", "--runs", str(tmp_path / "unfinished")]) == 2
    assert "no summary.json" in _one_error_line(capsys.readouterr().err)
    assert main(["profile", "--fusers", "meen"]) == 2
    assert "did you mean 'mean'" in _one_error_line(capsys.readouterr().err)


def test_output_path_that_is_a_file_exits_3_without_traceback(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("I am a file")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-m", "benchmark", *RUN, "--out", str(blocker), "--leaderboard", "none"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 3, res.stderr
    line = _one_error_line(res.stderr)
    assert str(blocker) in line and "ENOTDIR" in line and "not a folder" in line and "resumes" in line


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied")])
def test_write_failures_exit_3_naming_the_path_and_keep_finished_pairs(tmp_path, capsys, monkeypatch, code, words):
    out = tmp_path / "res"
    real = atomic._temp_beside

    def refuse_results(path):
        if path.parent.name == "r" and path.name.startswith("summary"):   # pairs are cached; the results fail
            raise OSError(code, os.strerror(code), str(path))
        return real(path)

    monkeypatch.setattr(atomic, "_temp_beside", refuse_results)
    assert main(RUN + ["--out", str(out), "--run-id", "r", "--leaderboard", "none"]) == 3
    line = _one_error_line(capsys.readouterr().err)
    assert str(out / "r" / "summary.csv") in line and words in line and errno.errorcode[code] in line
    monkeypatch.setattr(atomic, "_temp_beside", real)
    assert main(RUN + ["--out", str(out), "--run-id", "r", "--leaderboard", "none"]) == 0
    assert "2 from cache" in capsys.readouterr().out      # nothing computed was lost


def test_interrupt_exits_130_and_bugs_keep_their_traceback(monkeypatch, capsys, tmp_path):
    def interrupted(cfg, log=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmark.api, "run", interrupted)
    assert main(RUN + ["--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err

    def bug(cfg, log=None):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(benchmark.api, "run", bug)
    with pytest.raises(ZeroDivisionError):
        main(RUN + ["--out", str(tmp_path)])


def test_malformed_config_files_name_file_and_line(tmp_path, capsys):
    yaml_file, toml_file = tmp_path / "bad.yaml", tmp_path / "bad.toml"
    yaml_file.write_text("fusers: [mean]\ndatasets: [synthetic\nlimit: 2\n")
    toml_file.write_text('fusers = ["mean"]\nlimit = = 2\n')
    assert main(["run", "--config", str(yaml_file)]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith(f"error: config file {yaml_file}:3:")
    assert main(["profile", "--config", str(toml_file)]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith(f"error: config file {toml_file}:2:")


@pytest.mark.parametrize("args, message", [
    (["--size", "640"], "error: size: size must look like 'WxH' (e.g. '640x480'), got '640'"),
    (["--size", "0x10"], "error: size: size must be positive, got W=0, H=10"),
    (["--runs", "1"], "error: runs: expected an integer ≥ 2, got 1"),
    (["--warmup", "-1"], "error: warmup: expected an integer ≥ 0, got -1"),
    (["--runs", "many"], "error: runs: expected an integer, got str 'many'"),
    (["--device", "gpu"], "error: device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'")])
def test_bad_profile_options_are_one_line_naming_the_option(capsys, args, message):
    assert main(["profile", "--fusers", "mean", *args]) == 2
    assert _one_error_line(capsys.readouterr().err) == message


def test_unwritable_leaderboard_or_out_fails_before_any_work(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = tmp_path / "res"
    assert main(RUN + ["--out", str(out), "--leaderboard", str(blocker / "lb.md")]) == 3
    line = _one_error_line(capsys.readouterr().err)
    assert str(blocker) in line and "ENOTDIR" in line and not out.exists()          # nothing was run
    assert main(RUN + ["--out", str(out), "--leaderboard", str(tmp_path)]) == 3        # a folder, not a file
    assert "EISDIR" in _one_error_line(capsys.readouterr().err)
    assert main(["report", "--runs", str(tmp_path), "--leaderboard", str(blocker / "lb.md")]) == 3
    assert "ENOTDIR" in _one_error_line(capsys.readouterr().err)

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda path: ReadOnly())                     # a read-only mount
    assert main(RUN + ["--out", str(out), "--leaderboard", "none"]) == 3
    line = _one_error_line(capsys.readouterr().err)
    assert f"{tmp_path}: Read-only file system (EROFS)" in line and "choose a writable location" in line
    monkeypatch.undo()
    monkeypatch.setattr(os, "access", lambda path, mode: False)                     # no write permission
    assert main(RUN + ["--out", str(out), "--leaderboard", "none"]) == 3
    assert "EACCES" in _one_error_line(capsys.readouterr().err) and not out.exists()


@pytest.mark.parametrize("name, text", [
    ("run.yaml", "datasets: synthetic\nfusers: mean\nmetrics: EN\nlimit: 1\nleaderboard: none\nplots: false\n"),
    ("run.toml", 'datasets = "synthetic"\nfusers = "mean"\nmetrics = "EN"\nlimit = 1\nleaderboard = "none"\n'
                 'plots = false\n')])
def test_config_file_values_act_like_the_same_options(tmp_path, monkeypatch, name, text):
    """`datasets: synthetic` is one dataset and `leaderboard: none` writes no leaderboard, as on the
    command line."""
    import json

    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    assert main(["run", "--config", name, "--out", "res", "--run-id", "r", "--no-progress"]) == 0
    assert not (tmp_path / "leaderboard.md").exists() and not (tmp_path / "none").exists()
    assert json.loads((tmp_path / "res" / "r" / "config.json").read_text())["config"]["datasets"] == ["synthetic"]
    assert not (tmp_path / "res" / "r" / "plots").exists()
