"""Two-stage training of dmnet-tiny through the generic loop: losses fall, DM frozen, checkpoints load."""
import csv
import dataclasses
import warnings

import numpy as np
import pytest
import torch

import models.dmnet  # noqa: F401
from models import create_fuser, trainer_class
from models.dmnet import DMNetTinyTrainer, DMNetTrainConfig, DMNetTrainer
from models.dmnet.losses import fusion_gradient_loss, fusion_intensity_loss, sobel_magnitude, ssim_loss
from models.dmnet.train import FlooredStepLR, ModuleClippedAdam
from models.training import TrainConfig, fit
from safetensors.torch import load_file

STEPS = 20


def _fixed_batches(seed=0, n=STEPS):
    g = torch.Generator().manual_seed(seed)
    batch = {"ir": torch.rand(2, 1, 32, 32, generator=g), "vis": torch.rand(2, 1, 32, 32, generator=g)}

    def batches(stage, epoch):
        for _ in range(n):
            yield batch

    return batches, batch


def _losses(path, stage):
    return [float(r["loss"]) for r in csv.DictReader(open(path / "losses.csv")) if r["stage"] == stage]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Stage I, then stage II started from its checkpoint (the documented two-command workflow)."""
    root = tmp_path_factory.mktemp("dmnet_train")
    batches, batch = _fixed_batches()
    t1 = DMNetTinyTrainer(DMNetTrainConfig(stage="1", epochs=1, batch_size=2, crop=32))
    fit(t1, batches, root / "s1", progress=False)
    t2 = DMNetTinyTrainer(DMNetTrainConfig(stage="2", epochs=1, batch_size=2, crop=32,
                                           init_checkpoint=str(root / "s1" / "dmnet-tiny.safetensors")))
    fit(t2, batches, root / "s2", progress=False)
    return root, t1, t2, batch


def _decreases(values):
    assert len(values) == STEPS and all(np.isfinite(values))
    assert np.mean(values[-5:]) < np.mean(values[:5]), values


def test_stage1_loss_decreases(runs):
    root, *_ = runs
    _decreases(_losses(root / "s1", "stage1"))
    row = next(csv.DictReader(open(root / "s1" / "losses.csv")))
    assert {"rec_ssim_vis", "rec_mse_vis", "rec_ssim_ir", "rec_mse_ir", "ddpm", "lr"} <= set(row)


def test_stage2_loss_decreases(runs):
    root, *_ = runs
    _decreases(_losses(root / "s2", "stage2"))


def test_stage2_keeps_the_diffusion_model_bit_identical(runs):
    root, *_ = runs
    s1 = load_file(str(root / "s1" / "dmnet-tiny.safetensors"))
    s2 = load_file(str(root / "s2" / "dmnet-tiny.safetensors"))
    assert s1.keys() == s2.keys()
    dm = [k for k in s1 if k.startswith("DM.")]
    assert dm and all(torch.equal(s1[k], s2[k]) for k in dm)
    # the fusion path was trained in stage II
    assert not torch.equal(s1["upSkip.to2.weight"], s2["upSkip.to2.weight"])
    assert not torch.equal(s1["DIDF_Encoder.patch_embed.proj.weight"], s2["DIDF_Encoder.patch_embed.proj.weight"])
    # idle decoder blocks never train
    assert torch.equal(s1["DIDF_Decoder.encoder_level5.4.ffn.dwconv.weight"],
                       s2["DIDF_Decoder.encoder_level5.4.ffn.dwconv.weight"])


def test_checkpoint_roundtrip_through_the_fuser(runs):
    root, _, t2, batch = runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = create_fuser("dmnet-tiny", checkpoint=root / "s2" / "dmnet-tiny.safetensors", seed=3)
    assert f.weights_provenance == "project checkpoint"
    assert f.checkpoint_path == root / "s2" / "dmnet-tiny.safetensors" and len(f.checkpoint_hash()) == 64
    for (k, a), b in zip(f.module.state_dict().items(), t2.model.state_dict().values()):
        assert torch.equal(a, b), k
    ir, vis = batch["ir"][:, 0].numpy(), batch["vis"][:, 0].numpy()
    out = f.run_batch(ir, vis)
    model = t2.model.eval()
    with torch.inference_mode():
        ref = model(batch["ir"], batch["vis"], model.draw_noise(2, (32, 32), 3))[:, 0].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_resume_matches_an_uninterrupted_run(tmp_path):
    cfg = dict(stage="1", epochs=2, batch_size=2, crop=32, steps_per_epoch=2)
    batches, _ = _fixed_batches(1, n=2)
    full = DMNetTinyTrainer(DMNetTrainConfig(**cfg))
    fit(full, batches, tmp_path / "full", progress=False)

    class _Stop(Exception):
        pass

    def stopping(stage, epoch):
        if epoch == 1:
            raise _Stop
        yield from batches(stage, epoch)

    with pytest.raises(_Stop):
        fit(DMNetTinyTrainer(DMNetTrainConfig(**cfg)), stopping, tmp_path / "cut", progress=False)
    resumed = DMNetTinyTrainer(DMNetTrainConfig(**cfg))
    fit(resumed, batches, tmp_path / "cut", resume=True, progress=False)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_config_defaults_and_flags():
    assert trainer_class("dmnet") is DMNetTrainer and trainer_class("dmnet-tiny") is DMNetTinyTrainer
    assert DMNetTrainer.fuser_name == "dmnet" and DMNetTinyTrainer.fuser_name == "dmnet-tiny"
    assert DMNetTrainer.config_class is DMNetTrainConfig and issubclass(DMNetTrainConfig, TrainConfig)
    c = DMNetTrainConfig()
    assert (c.lr, c.batch_size, c.crop, c.lr_step, c.lr_gamma, c.module_grad_clip) == (1e-4, 8, 128, 20, 0.5, 0.01)
    assert (c.stage, c.stage1_epochs, c.stage2_epochs, c.amp, c.weight_decay) == ("both", 15, 30, False, 0.0)
    for f in dataclasses.fields(DMNetTrainConfig):  # each field becomes a CLI flag with help text
        assert f.type in ("int", "float", "str", "bool", int, float, str, bool), f.name
        assert f.metadata.get("help"), f.name


def test_stages_epochs_and_validation():
    t = DMNetTinyTrainer(DMNetTrainConfig(stage="both"))
    assert t.stages() == ["stage1", "stage2"]
    assert (t.epochs_for("stage1"), t.epochs_for("stage2")) == (15, 30)
    t = DMNetTinyTrainer(DMNetTrainConfig(stage="1", epochs=2))
    assert t.stages() == ["stage1"] and t.epochs_for("stage1") == 2
    with pytest.warns(UserWarning, match="never trained"):
        assert DMNetTinyTrainer(DMNetTrainConfig(stage="2")).stages() == ["stage2"]
    with pytest.raises(ValueError, match="stage"):
        DMNetTinyTrainer(DMNetTrainConfig(stage="3"))
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        DMNetTinyTrainer(DMNetTrainConfig(epochs=-1))
    with pytest.raises(ValueError, match="dm_init"):
        DMNetTinyTrainer(DMNetTrainConfig(dm_init="xavier"))
    with pytest.raises(TypeError):
        DMNetTinyTrainer(TrainConfig())


def test_freezing_and_optimiser_groups():
    t = DMNetTinyTrainer(DMNetTrainConfig())
    t.on_stage_start("stage2")
    m = t.model
    assert not any(p.requires_grad for p in m.diffusion.parameters())
    assert not any(p.requires_grad for p in m.reduce_channel1.parameters())  # no gradient reaches it
    assert all(p.requires_grad for p in m.up_skip.parameters())
    params = [p for p in m.parameters() if p.requires_grad]
    opt, sched = t.configure_optimizer("stage2", params)
    assert isinstance(opt, ModuleClippedAdam) and isinstance(sched, FlooredStepLR)
    assert [g["module"] for g in opt.param_groups] == ["encoder", "decoder", "csab", "up_skip", "up_skip_csab"]
    t.on_stage_start("stage1")
    assert all(p.requires_grad for p in m.diffusion.parameters())
    assert not any(p.requires_grad for p in m.up_skip.parameters())
    assert not m.decoder.reduce_channel.weight.requires_grad


def test_per_module_clipping_and_lr_floor():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2))
    opt = ModuleClippedAdam([{"params": [a]}, {"params": [b]}], lr=1.0, weight_decay=0.0, clip=0.01)
    a.grad, b.grad = torch.full((3,), 5.0), torch.full((2,), 1e-4)
    opt.step()
    assert a.grad.norm() == pytest.approx(0.01, rel=1e-4)  # clipped
    assert b.grad.norm() == pytest.approx(np.sqrt(2) * 1e-4, rel=1e-4)  # its own group: untouched
    sched = FlooredStepLR(opt, step_size=1, gamma=1e-3, min_lr=0.5)
    opt.step()
    sched.step()
    assert all(g["lr"] == 0.5 for g in opt.param_groups)


def test_losses():
    x = torch.rand(2, 1, 24, 24)
    assert float(ssim_loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert 0 < float(ssim_loss(x, torch.rand(2, 1, 24, 24))) <= 1
    ramp = torch.arange(8.0).repeat(8, 1)[None, None]
    assert float(sobel_magnitude(ramp)[0, 0, 4, 4]) == pytest.approx(8.0)  # |Gx| = 8 per unit slope
    vis, ir = torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)
    assert float(fusion_intensity_loss(torch.maximum(vis, ir), vis, ir)) == 0.0
    assert float(fusion_gradient_loss(vis, vis, vis)) == 0.0
