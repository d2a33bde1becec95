"""RED training: loss, trainer config, the generic loop with red-tiny, checkpoint -> fuser round trip."""
import csv
import dataclasses

import numpy as np
import pytest
import torch

import models.red  # noqa: F401
from models import create_fuser, trainer_class
from models.red.losses import FusionLoss, gradient_response, max_gradient_target, ssim
from models.red.train import RedTinyTrainer, RedTrainConfig, RedTrainer
from models.training import TrainConfig, fit


def _batches(n=2, size=32, batch=4):
    def gen(stage, epoch):
        g = torch.Generator().manual_seed(100 + epoch)
        for _ in range(n):
            yield {"ir": torch.rand(batch, 1, size, size, generator=g),
                   "vis": torch.rand(batch, 1, size, size, generator=g)}
    return gen


# ---------------------------------------------------------------- loss
def test_ssim_and_gradient_operator():
    x = torch.rand(2, 1, 24, 24, dtype=torch.float64)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-12)
    assert float(ssim(x, 1 - x)) < 0.5
    with pytest.raises(ValueError, match="at least 11"):
        ssim(x[..., :8, :8], x[..., :8, :8])
    ramp = torch.arange(8, dtype=torch.float64).view(1, 1, 1, 8).expand(1, 1, 8, 8).contiguous()
    g = gradient_response(ramp)
    # interior: K_x gives (0.2 + 1 + 0.2)·2 = 2.8 per unit slope, K_y sums to zero on a horizontal ramp
    torch.testing.assert_close(g[..., 2:-2, 2:-2], torch.full((1, 1, 4, 4), 2.8, dtype=torch.float64))
    sob = gradient_response(ramp, "sobel")
    torch.testing.assert_close(sob[..., 2:-2, 2:-2], torch.full((1, 1, 4, 4), 8.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="operator"):
        gradient_response(ramp, "prewitt")


def test_max_gradient_target_prefers_larger_magnitude_ties_to_vis():
    ir = torch.zeros(1, 1, 5, 5)
    vis = torch.zeros(1, 1, 5, 5)
    ir[..., 2, 2] = 1.0
    t = max_gradient_target(ir, vis)
    torch.testing.assert_close(t, gradient_response(ir))
    t2 = max_gradient_target(-vis - ir, vis + ir)  # equal magnitude, opposite sign -> VIS
    torch.testing.assert_close(t2, gradient_response(vis + ir))


def test_fusion_loss_parts_and_weights():
    ir, vis = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    fused = torch.maximum(ir, vis)
    parts = FusionLoss()(fused, ir, vis)
    assert set(parts) == {"loss", "l1", "grad", "ssim"}
    assert float(parts["l1"]) == 0.0
    total = 1.0 * parts["l1"] + 3.0 * parts["grad"] + 0.5 * parts["ssim"]
    torch.testing.assert_close(parts["loss"], total)
    custom = FusionLoss(w_int=2.0, w_grad=0.0, w_ssim=1.0)(fused, ir, vis)
    torch.testing.assert_close(custom["loss"], 2.0 * parts["l1"] + parts["ssim"])
    with pytest.raises(ValueError, match="w_grad"):
        FusionLoss(w_grad=-1)


# ---------------------------------------------------------------- config / trainer
def test_config_defaults_and_registration():
    assert trainer_class("red") is RedTrainer and trainer_class("red-tiny") is RedTinyTrainer
    assert issubclass(RedTrainConfig, TrainConfig) and dataclasses.is_dataclass(RedTrainConfig)
    c = RedTrainConfig()
    assert (c.batch_size, c.crop, c.lr, c.steps, c.reversible) == (4, 128, 1e-4, 2, True)
    assert (c.w_int, c.w_grad, c.w_ssim) == (1.0, 3.0, 0.5)
    helps = {f.name: f.metadata.get("help") for f in dataclasses.fields(RedTrainConfig)}
    assert helps["steps"] and helps["reversible"] and helps["sd_weights"]


def test_trainer_option_errors():
    with pytest.raises(ValueError, match="reversible_levels"):
        RedTinyTrainer(RedTrainConfig(reversible_levels="middle"))
    with pytest.raises(ValueError, match="lr_milestones"):
        RedTinyTrainer(RedTrainConfig(lr_milestones="10,x"))
    with pytest.raises(TypeError):
        RedTinyTrainer(TrainConfig())
    with pytest.raises(FileNotFoundError):
        RedTinyTrainer(RedTrainConfig(sd_weights="/nonexistent/sd15.safetensors"))


def test_full_trainer_warns_without_sd_weights(monkeypatch):
    import models.red.train as tr

    built, original = [], tr.build_red

    def small(variant, **kw):  # keep the test small: the warning depends on the trainer's variant only
        built.append(variant)
        return original("tiny", **kw)

    monkeypatch.setattr(tr, "build_red", small)
    with pytest.warns(UserWarning, match="random initialisation"):
        RedTrainer(RedTrainConfig())
    assert built == ["full"]


@pytest.mark.parametrize("reversible", [True, False])
def test_reversible_flag_sets_memory_saving(reversible):
    t = RedTinyTrainer(RedTrainConfig(reversible=reversible, reversible_levels="outer"))
    assert t.model.memory_saving == ("outer" if reversible else "none")


def test_reversible_and_plain_training_losses_and_gradients_agree():
    """--reversible and --no-reversible: same loss and gradients through the real loss module (float32)."""
    runs = []
    for rev in (True, False):
        t = RedTinyTrainer(RedTrainConfig(reversible=rev, seed=3))
        batch = next(_batches()("train", 0))
        losses = t.build_loss_module("train")(batch["ir"], batch["vis"])
        losses["loss"].backward()
        runs.append((float(losses["loss"].detach()), {n: p.grad.clone() for n, p in t.model.named_parameters()}))
    (l_rev, g_rev), (l_plain, g_plain) = runs
    assert l_rev == pytest.approx(l_plain, rel=1e-6)
    for n in g_plain:
        rel = float((g_rev[n] - g_plain[n]).norm() / g_plain[n].norm())
        assert rel < 1e-4, (n, rel)


def test_fit_resume_and_fuser_round_trip(tmp_path):
    cfg = RedTrainConfig(epochs=2, steps_per_epoch=0, crop=32, lr=1e-3)

    class _Stop(Exception):
        pass

    def interrupted(stage, epoch):
        if epoch == 1:
            raise _Stop
        yield from _batches()(stage, epoch)

    with pytest.raises(_Stop):
        fit(RedTinyTrainer(cfg), interrupted, tmp_path, progress=False)
    rows = list(csv.DictReader(open(tmp_path / "losses.csv")))
    assert [r["step"] for r in rows] == ["1", "2"]
    assert {"loss", "l1", "grad", "ssim", "lr"} <= set(rows[0])
    summary = fit(RedTinyTrainer(cfg), _batches(), tmp_path, resume=True, progress=False)
    assert summary["steps"] == 4 and summary["finite"]
    assert [r["step"] for r in csv.DictReader(open(tmp_path / "losses.csv"))] == ["1", "2", "3", "4"]
    ckpt = tmp_path / "red-tiny.safetensors"
    f = create_fuser("red-tiny", checkpoint=ckpt)
    assert f.weights_provenance == "project checkpoint" and f.checkpoint_path == ckpt
    trained = RedTinyTrainer(cfg)
    trained.model.load_state_dict(torch.load(tmp_path / "train_state.pt", weights_only=True)["model"])
    for (k, a), b in zip(f.module.state_dict().items(), trained.model.state_dict().values()):
        assert torch.equal(a, b), k
    out = f.run(np.random.default_rng(0).random((20, 28), dtype=np.float32),
                np.random.default_rng(1).random((20, 28), dtype=np.float32))
    assert out.shape == (20, 28) and np.isfinite(out).all()
    # the training state also loads; a T mismatch or a wrong variant is a clear error
    assert create_fuser("red-tiny", checkpoint=tmp_path / "train_state.pt").weights_provenance == "project checkpoint"
    with pytest.raises(ValueError, match="T=2"):
        create_fuser("red-tiny", checkpoint=ckpt, steps=3)
    with pytest.raises(ValueError, match="coupling"):
        create_fuser("red-tiny", checkpoint=ckpt, coupling="idm")
    with pytest.raises(ValueError, match="wrong shapes"):
        with torch.device("meta"):
            create_fuser("red", checkpoint=ckpt)
    with pytest.raises(FileNotFoundError):
        create_fuser("red-tiny", checkpoint=tmp_path / "missing.safetensors")
