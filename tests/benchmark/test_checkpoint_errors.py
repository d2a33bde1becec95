"""A bad --checkpoint is one `error:` line naming the file and what was found (exit 2), before any work;
a checkpoint for a fuser that is not in the run is an error with a suggestion."""
from __future__ import annotations

import pytest

from benchmark.cli import main
from models.weights_files import WeightsFileError, check_weights_file, few_keys

RUN = ["run", "--metrics", "EN", "--limit", "1", "--no-plots", "--no-progress", "--leaderboard", "none"]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def weights(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    good_pt, good_st = tmp_path / "good.pth", tmp_path / "good.safetensors"
    torch.save({"w": torch.zeros(500)}, good_pt)
    save_file({"w": torch.zeros(500)}, str(good_st))
    files = {"good.pth": good_pt, "good.safetensors": good_st}
    for name, data in {"empty.pth": b"", "lfs.pth": b"version https://git-lfs.github.com/spec/v1\noid sha256:0\n",
                       "page.pth": b"<!DOCTYPE html><html>404</html>", "noise.pth": bytes(range(7, 107)),
                       "cut.pth": good_pt.read_bytes()[:300], "cut.safetensors": good_st.read_bytes()[:200]}.items():
        (tmp_path / name).write_bytes(data)
        files[name] = tmp_path / name
    return files


@pytest.mark.parametrize("name, found", [("empty.pth", "0 bytes"),
                                         ("lfs.pth", "a Git LFS pointer"),
                                         ("page.pth", "not a torch/safetensors checkpoint: 31 bytes, an HTML"),
                                         ("noise.pth", "not a torch/safetensors checkpoint: 100 bytes, a binary file"),
                                         ("cut.pth", "truncated or damaged torch.save archive (300 bytes"),
                                         ("cut.safetensors", "truncated safetensors file: 200 bytes")])
def test_bad_checkpoint_files_are_one_line_naming_file_and_finding(weights, name, found, tmp_path, capsys):
    with pytest.raises(WeightsFileError, match=found.replace("(", r"\(")):
        check_weights_file(weights[name])
    rc = main(RUN + ["--fusers", "red-tiny", "--checkpoint", f"red-tiny={weights[name]}", "--out", str(tmp_path / "o")])
    assert rc == 2
    line = _error_line(capsys)
    assert line.startswith(f"error: checkpoints: 'red-tiny': {weights[name]}: ") and found in line
    assert not (tmp_path / "o").exists()                   # refused before any work


def test_good_files_are_recognised(weights):
    assert check_weights_file(weights["good.pth"]) == "torch zip"
    assert check_weights_file(weights["good.safetensors"]) == "safetensors"


def test_a_checkpoint_with_missing_keys_says_which(weights, tmp_path, capsys):
    rc = main(RUN + ["--fusers", "red-tiny", "--checkpoint", f"red-tiny={weights['good.safetensors']}",
                     "--out", str(tmp_path / "o")])
    assert rc == 2
    line = _error_line(capsys)
    assert str(weights["good.safetensors"]) in line and "does not match this RED model: missing [" in line
    assert len(line) < 1200                                # a long key list is summarised, not dumped
    assert few_keys([f"k{i}" for i in range(100)]) == "100 keys, e.g. ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']"


def test_a_checkpoint_for_a_fuser_not_in_the_run_suggests_the_name(weights, tmp_path, capsys):
    rc = main(RUN + ["--fusers", "dmnet-tiny", "mean", "--checkpoint", f"dmnet-tny={weights['good.pth']}",
                     "--out", str(tmp_path / "o")])
    assert rc == 2
    assert _error_line(capsys).startswith("error: checkpoints: unknown fuser of this run 'dmnet-tny'; did you mean "
                                          "'dmnet-tiny'?")
    rc = main(["profile", "--fusers", "mean", "--checkpoint", f"maen={weights['good.pth']}"])
    assert rc == 2 and "did you mean 'mean'?" in _error_line(capsys)


def test_an_unreadable_checkpoint_says_so(weights, monkeypatch):
    import models.weights_files as wf

    def refuse(path, mode="r", *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(wf, "open", refuse, raising=False)       # (root ignores file modes, so simulate)
    with pytest.raises(WeightsFileError, match=r"good.pth: cannot be read \(permission denied\); fix its permissions"):
        check_weights_file(weights["good.pth"])
