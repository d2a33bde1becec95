"""Two-stage training of DMNet (``python -m benchmark train dmnet``).

The paper (§III-D, §IV) trains in two stages on 128×128 MSRS crops with Adam at 1e-4: stage I
(15 epochs) learns reconstruction and the diffusion model, stage II (30 epochs) learns fusion with
the diffusion model frozen. No training code was released; where the paper is silent this follows
CDDFuse's training script (loss forms and weights, per-module Adam, StepLR(20, 0.5) with a 1e-6
floor, gradient clipping at 0.01 per module) — each such choice is marked in the field's help and in
``docs/dmnet.md``.

Stage I loss (per modality M ∈ {VIS, IR}, M̂ = Decoder(M, CSAB(Encoder(M).F_D))):
    L = Σ_M [w_ssim·L_SSIM(M, M̂) + w_mse·MSE(M, M̂)] + w_grad·L1(∇VIS, ∇VIŜ) + w_ddpm·L_DDPM(cat(VIS, IR))
Stage II loss (F = DMNet(IR, VIS), the U-Net frozen in eval mode, its features under no_grad):
    L = w_int·L1(F, max(VIS, IR)) + w_grad·L1(S(F), max(S(VIS), S(IR))) + w_ssim·[L_SSIM(F, VIS) + L_SSIM(F, IR)]
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..training import TrainConfig, Trainer, distributed_context
from .checkpoint import GROUPS, load_dmnet_weights, load_groups, project_state_dict, read_checkpoint
from .losses import fusion_gradient_loss, fusion_intensity_loss, spatial_gradient, ssim_loss
from .model import CONFIGS, DMNet, build_dmnet

__all__ = ["DMNetTrainConfig", "DMNetTrainer", "DMNetTinyTrainer", "Stage1Loss", "Stage2Loss",
           "ModuleClippedAdam", "FlooredStepLR", "init_orthogonal_"]

_STAGES = {"1": ["stage1"], "2": ["stage2"], "both": ["stage1", "stage2"]}


@dataclass
class DMNetTrainConfig(TrainConfig):
    """DMNet training options; every field is a ``benchmark train dmnet --<field>`` flag."""

    epochs: int = field(default=0, metadata={
        "help": "epochs per stage; 0 = the paper's --stage1-epochs / --stage2-epochs (15 / 30)"})
    amp: bool = field(default=False, metadata={
        "help": "fp16 autocast + GradScaler on CUDA (off: the released code uses fp32; project default)"})
    grad_clip: float = field(default=0.0, metadata={
        "help": "clip the global gradient norm (0 = off); DMNet clips per module instead, see --module-grad-clip"})
    stage: str = field(default="both", metadata={"help": "1, 2 or both"})
    stage1_epochs: int = field(default=15, metadata={"help": "stage I epochs when --epochs is 0 (paper: 15)"})
    stage2_epochs: int = field(default=30, metadata={"help": "stage II epochs when --epochs is 0 (paper: 30)"})
    weight_decay: float = field(default=0.0, metadata={"help": "Adam weight decay (CDDFuse: 0; paper silent)"})
    lr_step: int = field(default=20, metadata={
        "help": "StepLR step in epochs, stepped per epoch and restarted each stage (CDDFuse: 20; paper silent)"})
    lr_gamma: float = field(default=0.5, metadata={"help": "StepLR decay factor (CDDFuse: 0.5; paper silent)"})
    lr_min: float = field(default=1e-6, metadata={"help": "floor of the learning rate (CDDFuse: 1e-6)"})
    module_grad_clip: float = field(default=0.01, metadata={
        "help": "clip_grad_norm_ per module (encoder, decoder, CSAB, DM, ...) before each step; "
                "0 = off (CDDFuse: 0.01; paper silent)"})
    rec_ssim_weight: float = field(default=5.0, metadata={
        "help": "stage I: weight of L_SSIM = (1-SSIM)/2 per modality (CDDFuse: 5; paper silent)"})
    rec_mse_weight: float = field(default=1.0, metadata={"help": "stage I: weight of the MSE per modality (CDDFuse: 1)"})
    rec_grad_weight: float = field(default=0.0, metadata={
        "help": "stage I: weight of L1(grad VIS, grad VIS^) with kornia's normalised Sobel (CDDFuse: 5; "
                "default 0 = off, a guess for DMNet)"})
    ddpm_weight: float = field(default=1.0, metadata={
        "help": "stage I: weight of the DDPM eps-prediction MSE on cat(VIS, IR) crops (a guess; paper silent)"})
    stage1_train_dm: bool = field(default=True, metadata={
        "help": "stage I trains the diffusion U-Net (off: keep it as initialised, e.g. from --init-diffusion)"})
    fuse_int_weight: float = field(default=1.0, metadata={"help": "stage II: weight of L1(F, max(VIS, IR)) (CDDFuse: 1)"})
    fuse_grad_weight: float = field(default=10.0, metadata={
        "help": "stage II: weight of L1(Sobel(F), max(Sobel(VIS), Sobel(IR))) (CDDFuse: 10)"})
    fuse_ssim_weight: float = field(default=0.0, metadata={
        "help": "stage II: weight of L_SSIM(F, VIS) + L_SSIM(F, IR) (logged always; CDDFuse computes but does "
                "not add them: default 0)"})
    stage2_dm_backprop: bool = field(default=False, metadata={
        "help": "stage II: back-propagate through the frozen U-Net into its input (trains reduce_channel1); "
                "off = features under no_grad as in the paper, so reduce_channel1 keeps its seeded init"})
    dm_input: str = field(default="release", metadata={
        "help": "DM input: 'release' (mean of cat(VIS,IR) and five projected DTB branches) or 'concat' "
                "(cat(VIS,IR), the paper's description); the fuser must use the same"})
    dm_init: str = field(default="orthogonal", metadata={
        "help": "initialisation of the U-Net when not loaded: 'orthogonal' (SR3 define_G) or 'default' (PyTorch)"})
    init_checkpoint: str = field(default="", metadata={
        "help": "start from these weights: a project .safetensors (e.g. a stage I run, for --stage 2) or the "
                "official dmnet.pth / weights folder"})
    init_diffusion: str = field(default="", metadata={
        "help": "official diffusion file (<name>_gen.pth) initialising the U-Net (with --init-checkpoint: its "
                "diffusion part)"})


def init_orthogonal_(module: nn.Module, seed: int) -> None:
    """SR3's ``define_G`` initialisation: orthogonal weights (gain 1) and zero biases for conv/linear."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        with torch.no_grad():
            for m in module.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.orthogonal_(m.weight, gain=1.0)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)


class ModuleClippedAdam(torch.optim.Adam):
    """Adam whose ``step`` first clips each parameter group's gradient norm (one group per module).

    Equivalent to CDDFuse's one Adam per module with ``clip_grad_norm_`` per module (Adam is
    element-wise, so one instance with per-module groups behaves identically).
    """

    def __init__(self, groups, lr: float, weight_decay: float, clip: float):
        super().__init__(groups, lr=lr, weight_decay=weight_decay)
        self.clip = float(clip)

    @torch.no_grad()
    def step(self, closure=None):
        if self.clip > 0:
            for g in self.param_groups:
                grads = [p for p in g["params"] if p.grad is not None]
                if grads:
                    torch.nn.utils.clip_grad_norm_(grads, self.clip)
        return super().step(closure)


class FlooredStepLR(torch.optim.lr_scheduler.StepLR):
    """StepLR that never goes below ``min_lr``."""

    def __init__(self, optimizer, step_size: int, gamma: float, min_lr: float):
        self.min_lr = float(min_lr)
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    def get_lr(self):
        return [max(lr, self.min_lr) for lr in super().get_lr()]


class Stage1Loss(nn.Module):
    """Reconstruction of each modality + DDPM ε-prediction on cat(VIS, IR)."""

    def __init__(self, model: DMNet, config: DMNetTrainConfig):
        super().__init__()
        self.model = model
        self.cfg = config

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> dict[str, torch.Tensor]:
        c, m = self.cfg, self.model
        vis_hat = m.reconstruct(vis)
        ir_hat = m.reconstruct(ir)
        parts = {
            "rec_ssim_vis": ssim_loss(vis, vis_hat), "rec_mse_vis": F.mse_loss(vis_hat, vis),
            "rec_ssim_ir": ssim_loss(ir, ir_hat), "rec_mse_ir": F.mse_loss(ir_hat, ir),
        }
        loss = (c.rec_ssim_weight * (parts["rec_ssim_vis"] + parts["rec_ssim_ir"])
                + c.rec_mse_weight * (parts["rec_mse_vis"] + parts["rec_mse_ir"]))
        if c.rec_grad_weight:
            parts["rec_grad_vis"] = F.l1_loss(spatial_gradient(vis_hat), spatial_gradient(vis))
            loss = loss + c.rec_grad_weight * parts["rec_grad_vis"]
        if c.stage1_train_dm and c.ddpm_weight:
            parts["ddpm"] = m.diffusion.p_losses(torch.cat((vis, ir), dim=1))
            loss = loss + c.ddpm_weight * parts["ddpm"]
        return {"loss": loss, **{k: v.detach() for k, v in parts.items()}}


class Stage2Loss(nn.Module):
    """Fusion loss with the diffusion U-Net frozen (kept in eval mode even when ``train()`` is called)."""

    def __init__(self, model: DMNet, config: DMNetTrainConfig):
        super().__init__()
        self.model = model
        self.cfg = config

    def train(self, mode: bool = True):
        super().train(mode)
        self.model.diffusion.eval()
        return self

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.cfg
        fused = self.model(ir, vis, dm_grad=c.stage2_dm_backprop)
        parts = {"int": fusion_intensity_loss(fused, vis, ir), "grad": fusion_gradient_loss(fused, vis, ir),
                 "ssim_vis": ssim_loss(fused, vis), "ssim_ir": ssim_loss(fused, ir)}
        loss = c.fuse_int_weight * parts["int"] + c.fuse_grad_weight * parts["grad"]
        if c.fuse_ssim_weight:
            loss = loss + c.fuse_ssim_weight * (parts["ssim_vis"] + parts["ssim_ir"])
        return {"loss": loss, **{k: v.detach() for k, v in parts.items()}}


class DMNetTrainer(Trainer):
    """Two-stage DMNet trainer; its weights file is what ``create_fuser("dmnet", checkpoint=...)`` loads."""

    fuser_name = "dmnet"  # registered lazily under this name by models/catalog.py

    config_class = DMNetTrainConfig
    #: key of :data:`models.dmnet.model.CONFIGS`
    variant = "dmnet"

    def __init__(self, config: DMNetTrainConfig, device: str = "cpu"):
        super().__init__(config, device)
        c = config
        if c.stage not in _STAGES:
            raise ValueError(f"stage must be one of {sorted(_STAGES)}, got {c.stage!r}")
        if c.dm_init not in ("orthogonal", "default"):
            raise ValueError(f"dm_init must be 'orthogonal' or 'default', got {c.dm_init!r}")
        for name, minimum in (("epochs", 0), ("stage1_epochs", 1), ("stage2_epochs", 1), ("lr_step", 1)):
            if getattr(c, name) < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {getattr(c, name)}")
        self.model = build_dmnet(replace(CONFIGS[self.variant], dm_input=c.dm_input), seed=c.seed)
        loaded_dm = False
        if c.init_checkpoint:
            load_dmnet_weights(self.model, c.init_checkpoint, c.init_diffusion or None, seed=c.seed)
            loaded_dm = True
        elif c.init_diffusion:
            contents = read_checkpoint(c.init_diffusion)
            if set(contents.groups) != {"DM"}:
                raise ValueError(f"--init-diffusion {c.init_diffusion}: expected a diffusion file ('denoise_fn.*' "
                                 f"keys), found groups {sorted(contents.groups)}")
            load_groups(self.model, contents.groups, source=c.init_diffusion)
            loaded_dm = True
        if not loaded_dm and c.dm_init == "orthogonal":
            init_orthogonal_(self.model.diffusion, c.seed)
        if c.stage == "2" and not loaded_dm:
            warnings.warn("training stage II alone with a diffusion U-Net that was never trained (no "
                          "--init-checkpoint / --init-diffusion): its features are noise", UserWarning, stacklevel=2)
        self.model.to(self.device)
        # the DDPM loss and the stage-II feature noise draw from torch's global RNG, which fit() checkpoints
        torch.manual_seed(c.seed + distributed_context().rank)

    def stages(self) -> list[str]:
        return list(_STAGES[self.config.stage])

    def epochs_for(self, stage: str) -> int:
        if self.config.epochs:
            return self.config.epochs
        return self.config.stage1_epochs if stage == "stage1" else self.config.stage2_epochs

    def trained_modules(self, stage: str) -> list[str]:
        """Attributes of the model trained in ``stage`` (the rest is frozen)."""
        c = self.config
        if stage == "stage1":
            return ["encoder", "decoder", "csab"] + (["diffusion"] if c.stage1_train_dm and c.ddpm_weight else [])
        mods = ["encoder", "decoder", "csab", "up_skip", "up_skip_csab"]
        if c.stage2_dm_backprop and c.dm_input == "release":
            mods.append("reduce_channel1")
        return mods

    def on_stage_start(self, stage: str) -> None:
        self.model.requires_grad_(False)
        for name in self.trained_modules(stage):
            getattr(self.model, name).requires_grad_(True)
        dec = self.model.decoder  # never used by the forward pass: keep them out of the optimiser
        dec.reduce_channel.requires_grad_(False)
        for k in dec.depths[1:]:
            getattr(dec, f"encoder_level{k}").requires_grad_(False)

    def build_loss_module(self, stage: str) -> nn.Module:
        return Stage1Loss(self.model, self.config) if stage == "stage1" else Stage2Loss(self.model, self.config)

    def configure_optimizer(self, stage: str, params):
        ids = {id(p) for p in params}
        groups = []
        for attr in GROUPS.values():
            ps = [p for p in getattr(self.model, attr).parameters() if id(p) in ids]
            if ps:
                groups.append({"params": ps, "module": attr})
        if sum(len(g["params"]) for g in groups) != len(ids):
            raise RuntimeError("configure_optimizer: some trainable parameters belong to no DMNet module")
        c = self.config
        opt = ModuleClippedAdam(groups, lr=c.lr, weight_decay=c.weight_decay, clip=c.module_grad_clip)
        return opt, FlooredStepLR(opt, step_size=c.lr_step, gamma=c.lr_gamma, min_lr=c.lr_min)

    def fuser_state_dict(self) -> dict[str, torch.Tensor]:
        return project_state_dict(self.model)


class DMNetTinyTrainer(DMNetTrainer):
    """The same recipe on the reduced-width ``dmnet-tiny`` (tests, smoke runs)."""

    fuser_name = "dmnet-tiny"  # registered lazily under this name by models/catalog.py

    variant = "tiny"
