"""User fusers without editing the harness: module:Class tokens (the docs example), entry points."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import models
from benchmark import fusers as fusers_mod
from benchmark.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding_a_fuser.md"


def test_docs_example_runs_as_a_plugin(tmp_path, monkeypatch, capsys):
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[0]
    (tmp_path / "my_fusers.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["run", "--fusers", "my_fusers:DetailMax", "mean", "--fuser-arg", "my_fusers:DetailMax.size=9",
               "--metrics", "EN", "SF", "--limit", "3", "--out", str(tmp_path / "res"),
               "--leaderboard", str(tmp_path / "lb.md"), "--no-plots"])
    assert rc == 0, capsys.readouterr().err
    run_dir = next((tmp_path / "res").glob("run-*"))
    per = pd.read_csv(run_dir / "per_image.csv")
    assert set(per["fuser"]) == {"DetailMax", "mean"}
    assert "| DetailMax" in (tmp_path / "lb.md").read_text()


def test_plugin_errors_are_clear(tmp_path, capsys):
    assert main(["run", "--fusers", "no_such_module_xyz:Fuser", "--out", str(tmp_path)]) == 2
    assert "cannot import module 'no_such_module_xyz'" in capsys.readouterr().err
    assert main(["run", "--fusers", "tests.plugins.user_fusers:Nope", "--out", str(tmp_path)]) == 2
    assert "has no attribute 'Nope'" in capsys.readouterr().err


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace the installed entry points by the given ones; the plug-in groups read them afresh."""
    from importlib import metadata

    def install(group: str, eps: list) -> None:
        monkeypatch.setattr(metadata, "entry_points", lambda group=None, _g=group: list(eps) if group == _g else [])
        fusers_mod.FUSER_PLUGINS.reset()

    yield install
    fusers_mod.FUSER_PLUGINS.reset()


def test_entry_point_fusers_are_registered_and_a_broken_one_hides_nothing(fake_entry_points):
    from importlib.metadata import EntryPoint

    from benchmark.plugins import PluginWarning

    good = EntryPoint(name="slow-mean-ep", value="tests.plugins.user_fusers:SlowMean", group="benchmark.fusers")
    broken = EntryPoint(name="broken-ep", value="no_such_module_xyz:Fuser", group="benchmark.fusers")
    wrong = EntryPoint(name="not-a-fuser", value="tests.plugins.user_fusers:_ToyNet", group="benchmark.fusers")
    fake_entry_points("benchmark.fusers", [broken, good, wrong])
    try:
        with pytest.warns(PluginWarning) as caught:
            assert fusers_mod.load_entry_point_fusers() == ["slow-mean-ep"]
        messages = [str(w.message) for w in caught]
        assert any("'broken-ep'" in m and "no_such_module_xyz" in m and "ModuleNotFoundError" in m for m in messages)
        assert any("'not-a-fuser'" in m and "TypeError" in m for m in messages)
        assert fusers_mod.load_entry_point_fusers() == ["slow-mean-ep"]       # loaded once
        fuser = models.create_fuser("slow-mean-ep", delay=0.0)
        assert "plugin" in models.fuser_spec("slow-mean-ep").tags
        import numpy as np

        out = fuser.run(np.zeros((4, 4), np.float32), np.ones((4, 4), np.float32))
        assert np.allclose(out, 0.5)
    finally:
        if "slow-mean-ep" in models.FUSERS:
            models.FUSERS.unregister("slow-mean-ep")


def test_folder_fuser_matching(tmp_path, shared_datasets_dir, capsys):
    from benchmark.io import read_image, write_png

    folder = tmp_path / "pub"
    folder.mkdir()
    vi = shared_datasets_dir / "MSRS" / "test" / "vi"
    write_png(folder / "00055D.png", read_image(vi / "00055D.png"))          # exact name
    write_png(folder / "00085D_fused.png", read_image(vi / "00085D.png"))    # _fused suffix
    write_png(folder / "00091D_mine.png", read_image(vi / "00091D.png"))     # <pair>_<METHOD>
    write_png(folder / "unrelated.png", read_image(vi / "00091D.png"))       # matches no pair
    rc = main(["run", "--datasets", "msrs", "--data-root", str(shared_datasets_dir), "--fusers", "gff", "tif",
               "lp", f"folder:mine={folder}", "--metrics", "EN", "SD", "--out", str(tmp_path / "res"),
               "--leaderboard", str(tmp_path / "lb.md"), "--no-plots"])
    captured = capsys.readouterr()
    assert rc == 1, captured.err            # finished, but a fused file is missing: exit code 1
    assert "missing: 1 pair(s)" in captured.out
    assert "unrelated.png" in captured.err
    run_dir = next((tmp_path / "res").glob("run-*"))
    per = pd.read_csv(run_dir / "per_image.csv")
    assert sorted(per[per["fuser"] == "mine"]["pair"].unique()) == ["00055D", "00085D", "00091D"]
    text = (tmp_path / "lb.md").read_text()
    assert "| mine" in text and "mine: 1 (00123D)" in text
