"""The runner on the engine: cache first, several conventions in one run, executors, failures per
pair, and the hygiene of its files (issue 11 item 8, issue 13 items 1-3)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import benchmark
import benchmark.slots
import models.base
from benchmark.cli import main
from benchmark.config import RunConfig
from benchmark.errors import ConfigError, ExitCode

KEYS = ["EN", "SD"]


def cfg(tmp_path, **kw) -> RunConfig:
    base = dict(fusers=["mean"], metrics=KEYS, limit=3, out=str(tmp_path / "res"), leaderboard=None, plots=False,
                progress=False)
    base.update(kw)
    return RunConfig(**base)


def run(c: RunConfig):
    return benchmark.run(c, log=lambda msg: None)


@pytest.fixture
def counted(monkeypatch):
    """Counts (metric, convention) values computed and fuser calls, in this process (serial executor)."""
    calls = {"values": [], "fused": 0}
    real_eval, real_run = benchmark.slots.evaluate_conventions, models.base.Fuser.run

    def evaluate_conventions(fused, ir, vis, keys, conventions):
        calls["values"] += [(m, c) for c in conventions for m in keys]
        return real_eval(fused, ir, vis, keys, conventions)

    def run_(self, ir, vis_y):
        calls["fused"] += 1
        return real_run(self, ir, vis_y)

    monkeypatch.setattr(benchmark.slots, "evaluate_conventions", evaluate_conventions)
    monkeypatch.setattr(models.base.Fuser, "run", run_)
    return calls


# ------------------------------------------------------------------------------ conventions
def test_convention_values_parse_from_every_source(tmp_path):
    import metrics

    assert RunConfig().conventions == ["tang2023"]
    assert RunConfig(conventions="cddfuse").conventions == ["cddfuse"]
    assert RunConfig(conventions="all").conventions == list(metrics.CONVENTIONS)
    assert RunConfig.from_dict({"convention": ["cddfuse", "tang2023", "cddfuse"]}).conventions == ["cddfuse", "tang2023"]
    y = tmp_path / "c.yaml"
    y.write_text("convention: all\n")
    assert RunConfig.from_file(y).conventions == list(metrics.CONVENTIONS)
    with pytest.raises(ConfigError, match="'all' stands alone"):
        RunConfig(conventions=["all", "tang2023"])
    with pytest.raises(ConfigError, match="not both"):
        RunConfig.from_dict({"convention": "a", "conventions": "b"})
    with pytest.raises(ConfigError, match=r"convention: .*tang2023"):
        RunConfig(fusers="mean", conventions=["tang2023", "tang2024"]).validate()


def test_single_default_convention_keeps_the_run_id_of_earlier_versions(tmp_path):
    c = RunConfig(fusers=["mean"], metrics=KEYS, data_root=str(tmp_path)).validate()
    ident = {"datasets": ["synthetic"], "fusers": ["mean"], "metrics": KEYS, "convention": "tang2023", "limit": None,
             "fuser_args": {}, "checkpoints": {}, "data_root": str(tmp_path.resolve())}
    old = "run-" + hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:10]
    assert c.resolved_run_id() == old
    two = RunConfig(fusers=["mean"], metrics=KEYS, data_root=str(tmp_path), conventions=["tang2023", "cddfuse"])
    assert two.validate().resolved_run_id() != old


def test_adding_a_convention_computes_only_the_new_values(tmp_path, counted):
    first = run(cfg(tmp_path, run_id="a"))
    assert len(counted["values"]) == 3 * len(KEYS) and counted["fused"] == 3
    counted["values"].clear()
    out = run(cfg(tmp_path, run_id="b", conventions=["tang2023", "cddfuse"]))
    assert sorted(set(counted["values"])) == [(m, "cddfuse") for m in sorted(KEYS)]
    assert len(counted["values"]) == 3 * len(KEYS) and counted["fused"] == 3      # nothing fused again
    per = pd.read_csv(out.files["per_image"])
    assert per.groupby("convention").size().to_dict() == {"cddfuse": 3 * len(KEYS), "tang2023": 3 * len(KEYS)}
    summary = json.loads(out.files["summary_json"].read_text())
    assert summary["conventions"] == ["tang2023", "cddfuse"]
    rows = pd.read_csv(out.files["summary_csv"])
    assert rows["convention"].tolist() == ["tang2023"] * 2 + ["cddfuse"] * 2
    # the tang2023 rows are those of the first run, to the last digit
    a = pd.read_csv(first.files["summary_csv"])
    pd.testing.assert_frame_equal(rows[rows["convention"] == "tang2023"].reset_index(drop=True), a)


# ------------------------------------------------------------------------------ cache first
def test_a_finished_pair_never_reaches_a_worker_and_the_summary_line_says_what_was_reused(tmp_path, counted):
    run(cfg(tmp_path))
    counted["values"].clear()
    counted["fused"] = 0
    out = run(cfg(tmp_path))
    assert counted == {"values": [], "fused": 0}
    assert "(3 pair results, 3 from cache (fused images reused 3, metric values all reused 3)" in out.summary()
    out = run(cfg(tmp_path, metrics=KEYS + ["SF"]))      # fused images reused, one metric computed
    assert counted["fused"] == 0 and sorted(set(counted["values"])) == [("SF", "tang2023")]
    assert "(3 pair results, 0 from cache (fused images reused 3, metric values all reused 0)" in out.summary()


def test_a_replaced_or_corrupt_fused_png_is_fused_again(tmp_path, counted):
    first = run(cfg(tmp_path))
    pngs = sorted((tmp_path / "res" / ".cache").rglob("*.png"))
    assert len(pngs) == 3
    recs = [json.loads(p.with_suffix(".json").read_text()) for p in pngs]
    assert all(r["png_sha256"] == hashlib.sha256(p.read_bytes()).hexdigest() for r, p in zip(recs, pngs))
    pngs[0].write_bytes(pngs[0].read_bytes()[:100])          # truncated
    pngs[1].write_bytes(pngs[2].read_bytes())                # replaced by another image
    counted["fused"] = 0
    counted["values"].clear()
    again = run(cfg(tmp_path))
    assert counted["fused"] == 2 and len(counted["values"]) == 2 * len(KEYS)
    assert again.exit_code == ExitCode.OK
    pd.testing.assert_frame_equal(pd.read_csv(again.files["summary_csv"]), pd.read_csv(first.files["summary_csv"]))


def test_cached_rerun_leaves_no_temporary_links_and_files_honour_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        run(cfg(tmp_path))
        out = run(cfg(tmp_path))
    finally:
        os.umask(old)
    assert not list((tmp_path / "res").rglob("*.tmp"))
    for p in list(out.files.values()) + list((out.run_dir / "fused").rglob("*.png")) + \
            list((tmp_path / "res" / ".cache").rglob("*.json")):
        assert p.stat().st_mode & 0o777 == 0o664, p


# ------------------------------------------------------------------------------ failures
def test_sys_exit_in_a_plugin_fails_that_pair_with_its_frame_and_traceback(tmp_path):
    out = run(cfg(tmp_path, fusers=["tests.plugins.pipeline_fusers:ExitsOnOddWidths", "mean"], limit=None))
    assert out.exit_code == ExitCode.FAILED
    assert out.failures and all(o.fuser == "ExitsOnOddWidths" for o in out.failures)
    ok = [o for o in out.outcomes if o.status == "ok"]
    assert {o.fuser for o in ok} == {"ExitsOnOddWidths", "mean"}          # the run went on
    first = out.failures[0]
    assert first.message.startswith("SystemExit: plug-in gave up (at pipeline_fusers.py:")
    assert "in fuse)" in first.message
    summary = json.loads(out.files["summary_json"].read_text())
    tb = summary["failures"][0]["traceback"]
    assert tb.startswith("Traceback (most recent call last)") and 'sys.exit("plug-in gave up")' in tb
    recs = [json.loads(p.read_text()) for p in (tmp_path / "res" / ".cache").rglob("*.json")]
    failed = [r for r in recs if "failure" in r]
    assert len(failed) == len(out.failures) and all("SystemExit" in r["failure"]["traceback"] for r in failed)


def test_keyboard_interrupt_in_a_fuser_still_stops_the_run(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run(cfg(tmp_path, fusers=["tests.plugins.pipeline_fusers:InterruptsOnOddWidths"], limit=None))


def test_missing_fused_files_name_the_folder_searched_and_exit_nonzero(tmp_path, capsys):
    pub = tmp_path / "pub"
    (pub / "synthetic").mkdir(parents=True)
    assert main(["run", "--fusers", "mean", "--metrics", "EN", "--limit", "2", "--out", str(tmp_path / "r0"),
                 "--run-id", "x", "--leaderboard", "none", "--no-plots"]) == 0
    src = sorted((tmp_path / "r0" / "x" / "fused" / "synthetic" / "mean").glob("*.png"))
    (pub / "synthetic" / src[0].name).write_bytes(src[0].read_bytes())       # one of the two pairs
    rc = main(["run", "--fusers", f"folder:Pub={pub}", "--metrics", "EN", "--limit", "2", "--out",
               str(tmp_path / "r1"), "--run-id", "y", "--leaderboard", "none", "--no-plots"])
    assert rc == ExitCode.FAILED
    summary = json.loads((tmp_path / "r1" / "y" / "summary.json").read_text())
    assert len(summary["missing"]) == 1 and f"in {pub / 'synthetic'}" in summary["missing"][0]["message"]


# ------------------------------------------------------------------------------ leaderboard
def test_run_keeps_the_leaderboard_blocks_of_earlier_runs_in_the_same_folder(tmp_path):
    lb = tmp_path / "lb.md"
    run(cfg(tmp_path, leaderboard=str(lb), run_id="one"))
    run(cfg(tmp_path, leaderboard=str(lb), run_id="two", fusers=["max"]))
    text = lb.read_text()
    assert "| mean " in text and "| max " in text


# ------------------------------------------------------------------------------ executors
def same_size_msrs(root: Path, n: int = 6) -> Path:
    """``n`` random 40×52 pairs laid out as MSRS (test/ir, test/vi), so that consecutive pairs batch."""
    import numpy as np
    from PIL import Image

    for sub in ("ir", "vi"):
        (root / "MSRS" / "test" / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (40, 52), dtype=np.uint8)).save(root / "MSRS" / "test" / "ir" / f"{i:02d}.png")
        Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(root / "MSRS" / "test" / "vi" / f"{i:02d}.png")
    return root


def test_local_processes_and_batches_give_the_serial_results(tmp_path):
    data = str(same_size_msrs(tmp_path / "data"))
    common = dict(datasets=["synthetic", "msrs"], data_root=data, limit=None, fusers=["mean", "max"])
    serial = run(cfg(tmp_path, run_id="s", **common))
    local = run(cfg(tmp_path / "l", run_id="l", jobs=2, batch_size=3, max_in_flight=3, **common))
    assert local.config.resolved_executor() == "local"
    for f in ("summary_csv", "per_image"):
        assert local.files[f].read_text() == serial.files[f].read_text()
    latency = {(r["dataset"], r["fuser"]): r["batch_sizes"]
               for r in json.loads(local.files["summary_json"].read_text())["latency"]}
    assert latency[("msrs", "mean")] == [3] and latency[("synthetic", "mean")] == [1]


def test_execution_options_are_checked(tmp_path):
    with pytest.raises(KeyError, match="did you mean 'dask'"):
        RunConfig(fusers="mean", executor="dusk").validate()
    with pytest.raises(ConfigError, match="needs the address of a running scheduler"):
        RunConfig(fusers="mean", executor="dask").validate()
    with pytest.raises(ConfigError, match="applies to the dask executor only"):
        RunConfig(fusers="mean", scheduler="tcp://h:8786").validate()
    with pytest.raises(ConfigError, match="needs a 'slurm:' section"):
        RunConfig(fusers="mean", executor="slurm").validate()
    with pytest.raises(ConfigError, match="slurm.memory: expected a size"):
        RunConfig(slurm={"cores": 4, "memory": "lots"})
    with pytest.raises(ConfigError, match=r"slurm: unknown key\(s\) \['core'\]"):
        RunConfig(slurm={"core": 4, "memory": "4GiB"})
    with pytest.raises(ConfigError, match="batch_size: expected an integer ≥ 1, got 0"):
        RunConfig(fusers="mean", batch_size=0).validate()
    y = tmp_path / "s.yaml"
    y.write_text("executor: slurm\nslurm:\n  cores: 8\n  memory: 16GiB\n  walltime: '02:00:00'\n  queue: cpu\n"
                 "  jobs: 3\n")
    c = RunConfig.from_file(y)
    assert (c.slurm.cores, c.slurm.memory, c.slurm.queue, c.slurm.jobs) == (8, "16GiB", "cpu", 3)
    assert c.resolved_executor() == "slurm"


def test_a_run_with_two_conventions_gets_a_leaderboard_block_for_each(tmp_path):
    lb = tmp_path / "lb.md"
    out = run(cfg(tmp_path, leaderboard=str(lb), conventions=["tang2023", "cddfuse"], metrics=["SD"]))
    text = lb.read_text()
    assert "## Synthetic (embedded) — `tang2023`" in text and "## Synthetic (embedded) — `cddfuse`" in text
    rows = pd.read_csv(out.files["summary_csv"]).set_index("convention")["mean"]
    tang, cdd = text.split("— `cddfuse`", 1)
    assert f"{rows['tang2023']:.4f}" in tang and f"{rows['cddfuse']:.4f}" in cdd


@pytest.mark.slow
def test_ctrl_c_during_a_pipelined_run_exits_130_promptly_and_keeps_finished_pairs(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "benchmark", "run", "--fusers", "tests.plugins.user_fusers:SlowMean",
           "--metrics", "EN", "--jobs", "2", "--out", str(out), "--run-id", "k", "--leaderboard", "none",
           "--no-plots", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / ".cache").rglob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert list((out / ".cache").rglob("*.png"))     # what was finished is kept


def test_executor_failures_are_one_error_line_with_their_exit_code(tmp_path, monkeypatch, capsys):
    import benchmark.engine
    from benchmark.engine import ExecutorError, ExecutorUnavailableError

    def unreachable(*a, **k):
        raise ExecutorError("dask executor: cannot connect to the scheduler at tcp://nowhere:8786: OSError: timed out")

    def not_installed(*a, **k):
        raise ExecutorUnavailableError("the dask executor needs: pip install -e '.[dask]' (No module named 'x')")

    argv = ["run", "--fusers", "mean", "--metrics", "EN", "--limit", "1", "--out", str(tmp_path),
            "--leaderboard", "none", "--no-plots"]
    monkeypatch.setattr(benchmark.engine, "make_executor", unreachable)
    assert main(argv) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err
    assert err.startswith("error: executor 'serial': dask executor: cannot connect") and "Traceback" not in err
    monkeypatch.setattr(benchmark.engine, "make_executor", not_installed)
    assert main(argv) == ExitCode.USAGE
    assert "pip install -e '.[dask]'" in capsys.readouterr().err


@pytest.mark.parametrize("conventions, torch_expected", [(["tang2023", "cddfuse"], False), (["ivifzoo"], True)])
def test_worker_warm_up_imports_torch_only_when_a_convention_needs_it(conventions, torch_expected):
    # the warm-up item loads torch before a worker's first pair, and only when a convention needs it
    code = ("import sys; from benchmark.slots import warm_up; "
            f"warm_up(['EN', 'VIF', 'MS-SSIM'], {conventions!r}); print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == str(torch_expected)
