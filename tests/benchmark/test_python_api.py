"""The Python API and the CLI are one way through: same configuration, same result files."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import benchmark
from benchmark.cli import main
from benchmark.report import strip_measured

#: fields of summary.json that depend on the moment or the machine, not on the configuration
VOLATILE = ("created", "run_id", "hardware", "git", "latency", "efficiency", "plots")


def _result_files(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in VOLATILE:
        summary.pop(key)
    return {"per_image.csv": (run_dir / "per_image.csv").read_bytes(),
            "summary.csv": (run_dir / "summary.csv").read_bytes(), "summary.json": summary}


def test_api_cli_and_config_file_write_the_same_results(tmp_path, capsys):
    common = dict(fusers=["mean", "gff"], metrics=["EN", "SD", "Qabf"], limit=2, run_id="same", plots=False)
    api = benchmark.run(benchmark.RunConfig(datasets=["synthetic"], out=str(tmp_path / "api"),
                                            leaderboard=str(tmp_path / "api.md"), **common))
    assert api.exit_code == benchmark.ExitCode.OK and api.leaderboard == tmp_path / "api.md"

    rc = main(["run", "--datasets", "synthetic", "--fusers", "mean", "gff", "--metrics", "EN", "SD", "Qabf",
               "--limit", "2", "--run-id", "same", "--no-plots", "--out", str(tmp_path / "cli"),
               "--leaderboard", str(tmp_path / "cli.md")])
    assert rc == 0, capsys.readouterr().err

    cfg_file = tmp_path / "run.yaml"   # scalars where lists are expected, strings for numbers, 'none'
    cfg_file.write_text("datasets: synthetic\nfusers: [mean, gff]\nmetrics: [EN, SD, Qabf]\nlimit: '2'\n"
                        "run_id: same\nplots: false\nleaderboard: none\n")
    rc = main(["run", "--config", str(cfg_file), "--out", str(tmp_path / "file")])
    assert rc == 0, capsys.readouterr().err
    assert not (Path.cwd() / "none").exists()

    want = _result_files(api.run_dir)
    assert _result_files(tmp_path / "cli" / "same") == want
    assert _result_files(tmp_path / "file" / "same") == want
    assert strip_measured((tmp_path / "cli.md").read_text()) == strip_measured((tmp_path / "api.md").read_text())
    configs = [json.loads((tmp_path / d / "same" / "config.json").read_text())["config"] for d in ("api", "cli", "file")]
    for c in configs:
        c.pop("out"), c.pop("leaderboard")
    assert configs[0] == configs[1] == configs[2]


def test_run_does_everything_its_config_says(tmp_path):
    """plots, profile and leaderboard are not CLI extras: the API writes them too."""
    cfg = benchmark.RunConfig(fusers=["mean", "max"], metrics=["EN", "SD", "SF"], limit=3, profile=True,
                              profile_runs=2, out=str(tmp_path / "res"), leaderboard=str(tmp_path / "lb.md"))
    out = benchmark.run(cfg, log=lambda msg: None)
    summary = json.loads((out.run_dir / "summary.json").read_text())
    assert set(out.plots["synthetic"]) == {"metric bars", "radar", "qualitative grid"}
    assert summary["plots"] == out.plots and all(Path(p).is_file() for p in out.plots["synthetic"].values())
    assert [r["fuser"] for r in summary["efficiency"]] == ["mean", "max"] == [r["fuser"] for r in out.efficiency]
    text = (tmp_path / "lb.md").read_text()
    assert "## Efficiency (measured)" in text and "## Plots" in text
    assert set(out.files) == {"config", "per_image", "summary_csv", "summary_json"}
    per = pd.read_csv(out.files["per_image"])
    assert len(per) == 2 * 3 * 3


def test_api_outcome_reports_failures_with_exit_code_1(tmp_path):
    out = benchmark.run(benchmark.RunConfig(fusers="tests.plugins.user_fusers:Broken", metrics="EN",
                                            out=str(tmp_path), leaderboard=None, plots=False), log=lambda m: None)
    assert out.failures and out.exit_code == benchmark.ExitCode.FAILED
    assert out.problems().startswith("FAILED: 8 pair(s); first: synthetic/Broken/synth_00: FuserOutputError")
    assert any("broken on odd widths" in o.message for o in out.failures)


def test_other_subcommands_have_api_functions(tmp_path, shared_datasets_dir):
    text = benchmark.list_registered(benchmark.LsConfig(fusers=True))
    assert text.startswith("fusers:") and "dmnet" in text and "datasets:" not in text
    val = benchmark.validate_datasets(benchmark.ValidateConfig(data_root=str(shared_datasets_dir), datasets="msrs",
                                                               decode=False))
    assert [r.dataset for r in val.reports] == ["msrs"] and val.reports[0].pair_count == 4
    assert val.exit_code == benchmark.ExitCode.OK and "msrs           subset" in val.summary()
    run = benchmark.run(benchmark.RunConfig(fusers="mean", metrics="SD", limit=2, out=str(tmp_path / "r"),
                                            run_id="r1", leaderboard=None, plots=False), log=lambda m: None)
    rep = benchmark.build_report(benchmark.ReportConfig(runs=str(run.run_dir), leaderboard=str(tmp_path / "lb.md")))
    assert rep.target.is_file() and not rep.checked
    check = benchmark.build_report(benchmark.ReportConfig(runs=[str(run.run_dir)], check=str(tmp_path / "lb.md")))
    assert check.checked and not check.stale and check.exit_code == benchmark.ExitCode.OK
    prof = benchmark.profile_fusers(benchmark.ProfileConfig(fusers="mean", size="32x24", runs=2, warmup=0,
                                                            in_process=True))
    assert prof.records[0].resolution == "32×24" and "| mean" in prof.table


def test_profile_config_validates_before_any_work():
    with pytest.raises(benchmark.ConfigError, match="fusers: expected at least one"):
        benchmark.profile_fusers(benchmark.ProfileConfig())
    with pytest.raises(benchmark.ConfigError, match="size: size must look like 'WxH'"):
        benchmark.ProfileConfig(fusers="mean", size="640by480")
    with pytest.raises(KeyError, match="did you mean 'mean'"):
        benchmark.profile_fusers(benchmark.ProfileConfig(fusers="meen"))
    with pytest.raises(benchmark.ConfigError, match="runs: expected an integer ≥ 2"):
        benchmark.profile_fusers(benchmark.ProfileConfig(fusers="mean", runs=1))


def test_cached_latencies_keep_the_hardware_they_were_measured_on(tmp_path):
    from benchmark.hardware import HARDWARE_KEYS, hardware_info

    cfg = dict(fusers="mean", metrics="EN", limit=2, out=str(tmp_path), run_id="hw", plots=False,
               leaderboard=str(tmp_path / "lb.md"))
    first = benchmark.run(benchmark.RunConfig(**cfg), log=lambda m: None)
    records = sorted((tmp_path / ".cache" / "synthetic" / "mean").glob("*.json"))
    assert len(records) == 2
    here = hardware_info("cpu")
    for path in records:
        rec = json.loads(path.read_text())
        assert tuple(rec["hardware"]) == HARDWARE_KEYS and rec["hardware"]["cpu"] == here["cpu"]
        rec["hardware"] = {**rec["hardware"], "cpu": "Elsewhere CPU"}     # as if fused on another machine
        path.write_text(json.dumps(rec))
    assert [o.hardware["cpu"] for o in first.outcomes] == [here["cpu"]] * 2
    again = benchmark.run(benchmark.RunConfig(**cfg), log=lambda m: None)
    assert all(o.cached for o in again.outcomes)
    latency = json.loads((again.run_dir / "summary.json").read_text())["latency"]
    assert [hw["cpu"] for hw in latency[0]["hardware"]] == ["Elsewhere CPU"]
    assert "Measured on CPU Elsewhere CPU" in (tmp_path / "lb.md").read_text()


def test_readme_names_only_real_api():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    names = set(re.findall(r"\bbenchmark\.([A-Za-z_]\w*)\(", readme))
    assert {"run", "RunConfig", "profile_fusers", "build_report", "validate_datasets", "list_registered",
            "train_fuser"} <= names
    for name in names:
        assert hasattr(benchmark, name), f"README mentions benchmark.{name}, which does not exist"
