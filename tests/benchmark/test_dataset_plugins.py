"""Datasets are plug-ins too: docs/adding_a_dataset.md's example, installed as a package would be
(a ``*.dist-info`` with an entry point on ``sys.path``), is listed, validated and run; a broken
dataset plug-in is reported without hiding the others."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from benchmark.datasets import synthetic_pair

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "adding_a_dataset.md"


def _install_doc_example(site: Path, *, extra_entry_points: str = "") -> None:
    """Write the doc's module and an installed-distribution record whose entry points are the doc's."""
    blocks = dict(re.findall(r"```(python|toml)\n(.*?)```", DOC.read_text(), flags=re.S))
    (site / "my_datasets.py").write_text(blocks["python"])
    groups = tomllib.loads(blocks["toml"])["project"]["entry-points"]
    text = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items())
    info = site / "my_datasets-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-datasets\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(text + extra_entry_points)


def _data_root(root: Path, n: int = 3) -> Path:
    """MyData in the doc's layout, made of the embedded synthetic pairs."""
    for i in range(n):
        ir, vis = synthetic_pair(i)
        for sub, img in (("ir", ir), ("vis", vis)):
            folder = root / "MyData" / "test" / sub
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"scene{i:02d}.png")
    return root


def _python(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_doc_example_dataset_plugin_is_listed_validated_and_run(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_doc_example(site)
    data = _data_root(tmp_path / "data")

    res = _python(["ls", "--datasets"], site, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "mydata         MyData: 120 pairs (mydata-test)" in res.stdout

    res = _python(["validate", "--data-root", str(data), "--datasets", "mydata"], site, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "mydata         subset    3 / 120 pairs at" in res.stdout
    assert "identity: identity not verified (no manifest for mydata-test)" in res.stdout

    res = _python(["run", "--datasets", "mydata", "--data-root", str(data), "--fusers", "mean", "--metrics", "EN",
                   "--out", str(tmp_path / "res"), "--leaderboard", str(tmp_path / "lb.md"), "--no-plots"],
                  site, tmp_path)
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "lb.md").read_text()
    assert "## MyData — `tang2023`" in text and "**subset**: 3 of the 120 pairs of mydata-test, identity not verified (no manifest)" in text

    res = _python(["run", "--datasets", "mydat", "--out", str(tmp_path / "res")], site, tmp_path)
    assert res.returncode == 2 and "did you mean 'mydata'" in res.stderr


def test_broken_dataset_plugin_is_reported_and_hides_nothing(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_doc_example(site, extra_entry_points="broken = no_such_module_abc:SPEC\nwrong = my_datasets:Layout\n")
    res = _python(["ls", "--datasets"], site, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "mydata" in res.stdout and "msrs" in res.stdout
    assert "PluginWarning: plug-in 'broken' (no_such_module_abc:SPEC) of entry-point group 'benchmark.datasets' " \
           "was not loaded: ModuleNotFoundError" in res.stderr
    assert "plug-in 'wrong'" in res.stderr and "TypeError" in res.stderr


def test_register_dataset_checks_its_argument():
    from benchmark.datasets import DATASETS, register_dataset

    with pytest.raises(TypeError, match="expects a DatasetSpec"):
        register_dataset({"key": "x"})
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(DATASETS.get("msrs"))
