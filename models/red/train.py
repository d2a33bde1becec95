"""Training recipe of RED for ``python -m benchmark train red`` (and ``red-tiny``).

End-to-end, explicitly supervised training of the T-layer sampler [paper, arXiv 2601.20260]: 128×128
crops, batch 4, Adam [paper]; lr 1e-4 and 50 epochs × 1,000 iterations with the LR halved at epochs
10/20/30/40 [IDM]; loss weights from Dream-IF (``models.red.losses``). The generic loop
(``models.training.fit``) adds AMP on CUDA, clipping, the loss CSV, checkpoints, ``--resume`` and DDP.

Memory-saving backprop is on by default (``--reversible``); ``--no-reversible`` is plain autograd,
the paper's ablation; ``--reversible-levels outer|inner`` keeps only one level.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..training import TrainConfig, Trainer
from .losses import GRAD_OPERATORS, FusionLoss
from .model import COUPLINGS, RED, build_red
from .sd15 import load_sd15_into

LEVELS = ("both", "outer", "inner")


@dataclass
class RedTrainConfig(TrainConfig):
    """RED training options (each becomes a ``benchmark train red`` flag)."""

    epochs: int = field(default=50, metadata={"help": "epochs (IDM schedule: 50 × 1,000 iterations)"})
    batch_size: int = field(default=4, metadata={"help": "pairs per optimiser step (per process); paper: 4"})
    steps_per_epoch: int = field(default=1000, metadata={"help": "cap on optimiser steps per epoch (0 = full pass)"})
    steps: int = field(default=2, metadata={"help": "T, diffusion steps (reversible DDIM layers)"})
    reversible: bool = field(default=True, metadata={
        "help": "memory-saving reversible backprop (--no-reversible: plain autograd, the ablation)"})
    reversible_levels: str = field(default="both", metadata={
        "help": "with --reversible: 'both', 'outer' (sampling chain only) or 'inner' (U-Net blocks only)"})
    sd_weights: str = field(default="", metadata={
        "help": "local SD-1.5 U-Net weights to initialise from (diffusers folder/file or LDM .ckpt/.safetensors)"})
    coupling: str = field(default="paper", metadata={"help": "outer coupling: 'paper' (unit) or 'idm' (learnable v)"})
    w_int: float = field(default=1.0, metadata={"help": "weight of L1(F, max(VIS, IR))"})
    w_grad: float = field(default=3.0, metadata={"help": "weight of the max-gradient loss"})
    w_ssim: float = field(default=0.5, metadata={"help": "weight of the SSIM loss"})
    grad_operator: str = field(default="dreamif", metadata={"help": "'dreamif' (signed K_x+K_y) or 'sobel'"})
    lr_milestones: str = field(default="10,20,30,40", metadata={"help": "epochs at which the LR is multiplied by lr_gamma"})
    lr_gamma: float = field(default=0.5, metadata={"help": "LR decay factor at each milestone"})


class RedLoss(nn.Module):
    """What the training loop (and DDP) wraps: model + loss, ``forward(ir, vis) -> {"loss", ...}``."""

    def __init__(self, model: RED, loss: FusionLoss):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, ir: Tensor, vis: Tensor) -> dict[str, Tensor]:
        return self.loss(self.model(ir, vis), ir, vis)


class _RedTrainerBase(Trainer):
    config_class = RedTrainConfig
    variant = "full"

    def __init__(self, config: RedTrainConfig, device: str = "cpu"):
        super().__init__(config, device)
        c = config
        if c.reversible_levels not in LEVELS:
            raise ValueError(f"reversible_levels must be one of {LEVELS}, got {c.reversible_levels!r}")
        if c.grad_operator not in GRAD_OPERATORS:
            raise ValueError(f"grad_operator must be one of {GRAD_OPERATORS}, got {c.grad_operator!r}")
        if c.coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {c.coupling!r}")
        self.milestones = self._parse_milestones(c.lr_milestones)
        torch.manual_seed(c.seed)
        self.model = build_red(self.variant, steps=c.steps, coupling=c.coupling,
                               memory_saving=c.reversible_levels if c.reversible else "none")
        self.sd_report = None
        if c.sd_weights:
            self.sd_report = load_sd15_into(self.model.unet, c.sd_weights)
        elif self.variant == "full":
            warnings.warn("RED training without --sd-weights: the U-Net starts from random initialisation "
                          "instead of SD-1.5 (a deviation from the paper)", UserWarning, stacklevel=2)
        self.model.to(self.device)

    @staticmethod
    def _parse_milestones(text: str) -> list[int]:
        text = text.strip()
        if not text:
            return []
        try:
            ms = [int(x) for x in text.split(",")]
        except ValueError:
            raise ValueError(f"lr_milestones must be comma-separated integers, got {text!r}") from None
        if any(m <= 0 for m in ms) or ms != sorted(ms):
            raise ValueError(f"lr_milestones must be increasing positive epochs, got {text!r}")
        return ms

    def build_loss_module(self, stage: str) -> nn.Module:
        c = self.config
        return RedLoss(self.model, FusionLoss(c.w_int, c.w_grad, c.w_ssim, c.grad_operator))

    def configure_optimizer(self, stage, params):
        opt = torch.optim.Adam(params, lr=self.config.lr, betas=(0.9, 0.999))
        sched = (torch.optim.lr_scheduler.MultiStepLR(opt, self.milestones, gamma=self.config.lr_gamma)
                 if self.milestones else None)
        return opt, sched


class RedTrainer(_RedTrainerBase):
    """Trains the full RED (115.25 M parameters)."""

    fuser_name = "red"  # registered lazily under this name by models/catalog.py

    variant = "full"


class RedTinyTrainer(_RedTrainerBase):
    """Trains ``red-tiny`` (reduced U-Net widths), for tests and smoke runs."""

    fuser_name = "red-tiny"  # registered lazily under this name by models/catalog.py

    variant = "tiny"
