"""Config values parse alike from Python, files and the command line; bad values name the field."""
from __future__ import annotations

import pytest

from benchmark.config import LsConfig, ProfileConfig, ReportConfig, RunConfig, TrainJobConfig, ValidateConfig
from benchmark.configbase import coerce
from benchmark.errors import ConfigError


def test_scalars_become_lists_and_strings_become_numbers():
    cfg = RunConfig(datasets="msrs", fusers="mean", metrics="EN", jobs="2", limit="3", plots="no",
                    leaderboard="None", progress="auto")
    assert cfg.datasets == ["msrs"] and cfg.fusers == ["mean"] and cfg.metrics == ["EN"]
    assert cfg.jobs == 2 and cfg.limit == 3 and cfg.plots is False and cfg.leaderboard is None and cfg.progress is None
    assert RunConfig(limit="none").limit is None and RunConfig(run_id=7).run_id == "7"


@pytest.mark.parametrize("field, value, expected", [
    ("jobs", "two", "jobs: expected an integer, got str 'two'"),
    ("jobs", 1.5, "jobs: expected an integer, got float 1.5"),
    ("plots", "maybe", "plots: expected a boolean (true/false), got str 'maybe'"),
    ("datasets", [1.5], "datasets[0]: expected a string, got float 1.5"),
    ("limit", [3], "limit: expected an integer or none, got list [3]"),
    ("conventions", [1.5], "convention[0]: expected a string, got float 1.5"),
    ("fuser_args", {"weight": 0.8}, "fuser_args['weight']: expected a mapping of keyword arguments, got float 0.8"),
    ("fuser_args", ["weight"], "fuser_args: expected key=value or fuser.key=value, got 'weight'"),
    ("checkpoints", 3, "checkpoints: expected a mapping or [FUSER=]PATH strings, got int 3"),
])
def test_wrong_types_name_the_field_expected_and_got(field, value, expected):
    with pytest.raises(ConfigError) as err:
        RunConfig(**{field: value})
    assert str(err.value).startswith(expected), str(err.value)


def test_fuser_args_and_checkpoints_from_strings_and_mappings(tmp_path):
    ck = tmp_path / "w.safetensors"
    ck.write_bytes(b"x")
    a = RunConfig(fusers="mean", fuser_args=["weight=0.8", "mean.weight=0.2", "max.name=[1, 2]"],
                  checkpoints=str(ck))
    assert a.fuser_args == {"*": {"weight": 0.8}, "mean": {"weight": 0.2}, "max": {"name": [1, 2]}}
    assert a.checkpoints == {"mean": str(ck)} and a.kwargs_for("mean") == {"weight": 0.2, "checkpoint": str(ck)}
    b = RunConfig(fusers=["mean", "max"], fuser_args={"*": {"weight": 0.8}}, checkpoints=[f"max={ck}"])
    assert b.fuser_args == {"*": {"weight": 0.8}} and b.checkpoints == {"max": str(ck)}
    with pytest.raises(ConfigError, match="with several fusers write FUSER=PATH"):
        RunConfig(fusers=["mean", "max"], checkpoints=str(ck))


def test_validate_checks_names_ranges_and_files(tmp_path):
    with pytest.raises(KeyError, match="did you mean 'msrs'"):
        RunConfig(datasets="msr").validate()
    with pytest.raises(ConfigError, match=r"metrics: .*ENN"):
        RunConfig(fusers="mean", metrics="ENN").validate()
    with pytest.raises(ConfigError, match=r"convention: .*tang2023"):
        RunConfig(fusers="mean", conventions="tang2024").validate()
    with pytest.raises(ConfigError, match="jobs: expected an integer ≥ 1, got 0"):
        RunConfig(fusers="mean", jobs=0).validate()
    with pytest.raises(ConfigError, match="device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        RunConfig(fusers="mean", device="gpu").validate()
    with pytest.raises(ConfigError, match="no such file or folder"):
        RunConfig(fusers="mean", checkpoints={"mean": str(tmp_path / "nope.pt")}).validate()
    with pytest.raises(ConfigError, match="fuser_args: unknown fuser of this run 'max'"):
        RunConfig(fusers="mean", fuser_args={"max": {"a": 1}}).validate()
    cfg = RunConfig(fusers="mean")
    cfg.datasets = "synthetic"              # set after construction: validate() coerces again
    assert cfg.validate().datasets == ["synthetic"] and cfg.metrics[0] == "EN"


def test_files_parse_like_the_command_line(tmp_path):
    y = tmp_path / "a.yaml"
    y.write_text("datasets: synthetic\nleaderboard: none\njobs: 2\nfuser-args: ['weight=0.5']\n")
    t = tmp_path / "a.toml"
    t.write_text('datasets = "synthetic"\nleaderboard = "none"\njobs = "2"\nfuser_args = ["weight=0.5"]\n')
    cli = RunConfig.from_sources(None, {"datasets": ["synthetic"], "leaderboard": "none", "jobs": "2",
                                        "fuser_args": ["weight=0.5"]})
    assert RunConfig.from_file(y) == RunConfig.from_file(t) == cli
    assert cli.datasets == ["synthetic"] and cli.leaderboard is None and cli.fuser_args == {"*": {"weight": 0.5}}
    over = RunConfig.from_sources(y, {"jobs": "3"})            # command-line values win
    assert over.jobs == 3 and over.leaderboard is None


def test_bad_config_files_are_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('datasets = ["synthetic"\n')
    with pytest.raises(ConfigError, match=r"config file .*bad.toml:1: cannot parse it \(TOMLDecodeError"):
        RunConfig.from_file(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("fuser: [mean]\n")
    with pytest.raises(ConfigError, match="did you mean 'fusers'"):
        RunConfig.from_file(typo)
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping of field names, got list"):
        RunConfig.from_file(lst)
    with pytest.raises(ConfigError, match="expected .yaml, .yml or .toml"):
        RunConfig.from_file(tmp_path / "x.json")
    with pytest.raises(ConfigError, match="no such file"):
        RunConfig.from_file(tmp_path / "missing.yaml")


def test_every_subcommand_config_coerces():
    assert ProfileConfig(fusers="mean", size="64x48", runs="3").size == (64, 48)
    assert ProfileConfig(fusers="mean", size=[64, 48]).size == (64, 48)
    assert ReportConfig(runs="r1").runs == ["r1"]
    assert ValidateConfig(datasets="msrs", decode="false").decode is False
    assert LsConfig(verbose="yes").verbose is True
    job = TrainJobConfig(fuser="dmnet-tiny", dataset="synthetic", out="x", trainer_args={"epochs": "2", "amp": "no"})
    job.validate()
    assert job.trainer_args == {"epochs": 2, "amp": False} and job.trainer_config().epochs == 2
    with pytest.raises(ConfigError, match="has no option 'epoch'"):
        TrainJobConfig(fuser="dmnet-tiny", dataset="synthetic", out="x", trainer_args={"epoch": 2}).validate()


def test_coerce_rejects_unsupported_annotations():
    with pytest.raises(TypeError, match="unsupported config annotation"):
        coerce(1, complex, "x")
