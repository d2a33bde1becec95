"""The generic training loop: steps, loss log, checkpoint, resume (with a toy trainer)."""
import csv

import pytest
import torch
from torch import nn

from models.training import TrainConfig, Trainer, fit


class _Toy(Trainer):
    fuser_name = "toy"

    def __init__(self, config, device="cpu"):
        super().__init__(config, device)
        torch.manual_seed(config.seed)
        self.model = nn.Conv2d(2, 1, 3, padding=1)

    def stages(self):
        return ["a", "b"]

    def build_loss_module(self, stage):
        model = self.model

        class L(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, ir, vis):
                out = self.model(torch.cat([ir, vis], 1))
                loss = (out - torch.maximum(ir, vis)).abs().mean()
                return {"loss": loss, "l1": loss.detach()}

        return L()


def _batches(stage, epoch):
    g = torch.Generator().manual_seed(epoch)
    for _ in range(3):
        yield {"ir": torch.rand(2, 1, 8, 8, generator=g), "vis": torch.rand(2, 1, 8, 8, generator=g)}


def test_fit_writes_logs_and_resumes(tmp_path):
    cfg = TrainConfig(epochs=2, lr=1e-2)
    summary = fit(_Toy(cfg), _batches, tmp_path, progress=False)
    assert summary["steps"] == 2 * 2 * 3
    rows = list(csv.DictReader(open(tmp_path / "losses.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert {r["stage"] for r in rows} == {"a", "b"}
    assert (tmp_path / "toy.safetensors").exists()
    with pytest.raises(FileExistsError):
        fit(_Toy(cfg), _batches, tmp_path, progress=False)
    # resume from the end: nothing left to do, log unchanged
    summary2 = fit(_Toy(cfg), _batches, tmp_path, resume=True, progress=False)
    assert summary2["steps"] == 12
    assert len(list(csv.DictReader(open(tmp_path / "losses.csv")))) == 12


def test_resume_mid_run_matches_uninterrupted(tmp_path):
    cfg1 = TrainConfig(epochs=1, lr=1e-2)
    fit(_Toy(cfg1), _batches, tmp_path / "x", progress=False)  # 1 epoch per stage
    # an uninterrupted 2-epoch run vs. a 2-epoch run resumed after its first epoch of stage a
    full = _Toy(TrainConfig(epochs=2, lr=1e-2))
    fit(full, _batches, tmp_path / "full", progress=False)

    class _Stop(Exception):
        pass

    def stopping(stage, epoch):
        if epoch == 1:
            raise _Stop
        yield from _batches(stage, epoch)

    with pytest.raises(_Stop):
        fit(_Toy(TrainConfig(epochs=2, lr=1e-2)), stopping, tmp_path / "cut", progress=False)
    resumed = _Toy(TrainConfig(epochs=2, lr=1e-2))
    fit(resumed, _batches, tmp_path / "cut", resume=True, progress=False)
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b)
    steps = [int(r["step"]) for r in csv.DictReader(open(tmp_path / "cut" / "losses.csv"))]
    assert steps == list(range(1, 13))
