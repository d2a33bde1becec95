"""`python -m benchmark train`: flags from the trainer's config dataclass, checkpoints usable by `run`."""
from __future__ import annotations

import csv
import json

import tests.plugins.user_fusers  # noqa: F401  (registers toy-test-net and its trainer)
from benchmark.cli import main
from benchmark.train import CropBatches


def test_train_then_run_with_checkpoint(tmp_path, capsys):
    out = tmp_path / "runs"
    rc = main(["train", "toy-test-net", "--dataset", "synthetic", "--epochs", "2", "--batch-size", "4",
               "--crop", "32", "--lr", "0.01", "--l1-weight", "2.0", "--detach-vis", "--out", str(out),
               "--no-progress", "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    cfg = json.loads((out / "train_config.json").read_text())["config"]
    assert cfg["l1_weight"] == 2.0 and cfg["detach_vis"] is True and cfg["crop"] == 32
    rows = list(csv.DictReader(open(out / "losses.csv")))
    assert len(rows) == 4                       # 8 synthetic pairs / batch 4 × 2 epochs
    weights = out / "toy-test-net.safetensors"
    assert weights.is_file()
    rc = main(["run", "--fusers", "toy-test-net", "--checkpoint", str(weights), "--metrics", "EN", "--limit", "2",
               "--out", str(tmp_path / "res"), "--leaderboard", str(tmp_path / "lb.md"), "--no-plots"])
    assert rc == 0
    assert "project-trained" in (tmp_path / "lb.md").read_text()
    # resume continues where it stopped; a second plain start refuses to overwrite
    assert main(["train", "toy-test-net", "--dataset", "synthetic", "--epochs", "3", "--batch-size", "4",
                 "--crop", "32", "--out", str(out), "--resume", "--no-progress", "--device", "cpu"]) == 0
    assert len(list(csv.DictReader(open(out / "losses.csv")))) == 6
    capsys.readouterr()
    assert main(["train", "toy-test-net", "--dataset", "synthetic", "--out", str(out), "--no-progress",
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: out: ") and "already holds a training run" in err and "--resume" in err


def test_train_unknown_name_suggests(capsys):
    assert main(["train", "toy-test-nett", "--dataset", "synthetic", "--out", "x"]) == 2
    assert "did you mean 'toy-test-net'" in capsys.readouterr().err


def test_crop_batches_shapes_and_sharding():
    import numpy as np

    pairs = [(np.random.rand(20, 30).astype("f4"), np.random.rand(20, 30).astype("f4")) for _ in range(6)]
    b = CropBatches(pairs, crop=24, batch_size=2, seed=0)      # smaller than the crop: reflect-padded
    batches = list(b("train", 0))
    assert len(batches) == 3 and batches[0]["ir"].shape == (2, 1, 24, 24)
    again = list(b("train", 0))
    assert all((x["ir"] == y["ir"]).all() for x, y in zip(batches, again))   # deterministic per epoch
    r0 = list(CropBatches(pairs, crop=8, batch_size=1, seed=0, rank=0, world_size=2)("train", 0))
    r1 = list(CropBatches(pairs, crop=8, batch_size=1, seed=0, rank=1, world_size=2)("train", 0))
    assert len(r0) == len(r1) == 3
