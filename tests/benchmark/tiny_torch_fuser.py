"""A tiny PyTorch fuser with a known FLOP count (helper of test_profiling.py; not registered here)."""
from __future__ import annotations

import torch
from torch import nn

from models.base import InputContract, TorchFuser

C_IN, C_MID, C_OUT, K = 2, 4, 1, 3


def analytic_flops(width: int, height: int) -> int:
    """2·Cin·Cout·k²·H·W per 3×3 'same' convolution (FlopCounterMode does not count the bias)."""
    return 2 * (C_IN * C_MID + C_MID * C_OUT) * K * K * height * width


def analytic_params() -> int:
    return (C_IN * C_MID * K * K + C_MID) + (C_MID * C_OUT * K * K + C_OUT)


class TinyConvFuser(TorchFuser):
    """conv3×3(2→4) → ReLU → conv3×3(4→1) → sigmoid on cat(IR, VIS)."""

    name = "tiny-conv"
    contract = InputContract(pad_multiple=8)
    output_policy = "sigmoid output in (0, 1)"

    def __init__(self, device: str = "cpu", freeze_first: bool = False, report: dict | None = None):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(C_IN, C_MID, K, padding=1), nn.ReLU(),
                            nn.Conv2d(C_MID, C_OUT, K, padding=1), nn.Sigmoid())
        super().__init__(net, device=device)
        if freeze_first:
            net[0].requires_grad_(False)
        self._report = report

    def forward(self, ir, vis_y):
        return self.module(torch.cat([ir, vis_y], dim=1))

    def parameter_report(self):
        return self._report or {}
