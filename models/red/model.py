"""RED: the DDIM sampling chain as a T-layer reversible network (Xu et al., arXiv 2601.20260, §3).

State: two single-channel streams ``(x1, x2) = (f_1, f_0) = (g·IR, g·VIS_Y)`` with a learnable input
gain g (1 at init). Layer l = 1..T uses the sampling index t = T − l + 1 and computes the paper's
reversible update ``f_{t+1} = f_{t−1} + F_t(f_t)``, i.e. ``(x1, x2) <- (x2 + F_t(x1), x1)``, where
F_t is one deterministic DDIM step (η = 0) whose ε-predictor is ``PS(UNet(PU(x)))`` with
pixel-unshuffle/shuffle by 2 in place of SD's VAE [paper]:

    ε̂ = PS(UNet(PU(x)));  x̂_0 = (x − √(1−ᾱ_t)·ε̂)/√ᾱ_t;  F_t(x) = √ᾱ_{t−1}·x̂_0 + √(1−ᾱ_{t−1})·ε̂.

The schedule is learnable [IDM]: α = sigmoid(a) ∈ (0,1)^T, a = 0 at init (α = 0.5), ᾱ_t = Π_{i≤t} α_i,
ᾱ_0 = 1. All T layers share the U-Net. The output is ``w·x1 + (1 − w)·x2`` (the last two states,
f_{T+1} and f_T when the chain starts from (f_1, f_0) = (IR, VIS) and T counts the layers), w learnable
and 1 at init [paper].

Memory saving: with ``memory_saving`` "outer" or "both" the T layers run
through :class:`~models.red.reversible.RevBackProp` (no stored activations, states reconstructed in
backward); with "inner" or "both" the U-Net's blocks are reversible couplings and its
width-changing layers are checkpointed. "none" is plain autograd (the ablation). Every mode
computes the same function and the same gradients.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .reversible import CouplingList, run_couplings
from .unet import PrunedUNet, UNetConfig

MEMORY_SAVING_MODES = ("both", "outer", "inner", "none")
COUPLINGS = ("paper", "idm")


class DDIMStep:
    """One sampling layer as a coupling: ``y1 = b·x2 + F_t(x1)``, ``y2 = x1``."""

    def __init__(self, red: "RED", t: int):
        self.red, self.t = red, t

    def coefficient(self):
        if self.red.coupling == "paper":
            return 1.0
        return self.red.outer_v[self.red.steps - self.t]

    def residual(self, x1: Tensor, sides=()) -> Tensor:
        red = self.red
        ab = red.alpha_bar()  # ᾱ_0..ᾱ_T
        ab_t, ab_prev = ab[self.t], ab[self.t - 1]
        eps = F.pixel_shuffle(red.unet(F.pixel_unshuffle(x1, 2)), 2)
        x0 = (x1 - torch.sqrt(1.0 - ab_t) * eps) / torch.sqrt(ab_t)
        out = torch.sqrt(ab_prev) * x0 + torch.sqrt(1.0 - ab_prev) * eps
        if red.coupling == "idm":
            out = (1.0 - self.coefficient()) * out
        return out


class RED(nn.Module):
    """Reversible Efficient Diffusion fusion network (single-channel IR and VIS-Y in, fused Y out).

    Args:
        unet_config: widths of the pruned U-Net (``UNetConfig.sd15()`` or ``UNetConfig.tiny()``).
        steps: T, the number of reversible DDIM layers (U-Net evaluations), default 2 [paper].
        coupling: "paper" (unit coefficients, f_{t+1} = f_{t−1} + F_t(f_t)) or "idm"
            (y1 = v·x2 + (1 − v)·F(x1), v = 0.5 at init).
        memory_saving: "both", "outer", "inner" or "none" (see the module docstring); only affects
            training memory, never the result.
    """

    def __init__(self, unet_config: UNetConfig = UNetConfig(), *, steps: int = 2, coupling: str = "paper",
                 memory_saving: str = "both"):
        super().__init__()
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"RED: steps (T) must be an integer >= 1, got {steps!r}")
        if coupling not in COUPLINGS:
            raise ValueError(f"RED: coupling must be one of {COUPLINGS}, got {coupling!r}")
        self.steps = steps
        self.coupling = coupling
        self.unet = PrunedUNet(unet_config)
        self.alpha_logit = nn.Parameter(torch.zeros(steps))   # α = sigmoid(a) = 0.5 at init
        self.input_gain = nn.Parameter(torch.ones(()))       # also keeps the chain input on the graph
        self.w = nn.Parameter(torch.ones(()))                # output merge weight, 1 at init [paper]
        if coupling == "idm":
            self.outer_v = nn.Parameter(torch.full((steps,), 0.5))
        self.memory_saving = "none"
        self.set_memory_saving(memory_saving)
        #: set to a list to record the states reconstructed by the outer reversible backward (tests)
        self.rev_trace: list | None = None

    # ------------------------------------------------------------------------------ configuration
    def set_memory_saving(self, mode: str) -> None:
        if mode not in MEMORY_SAVING_MODES:
            raise ValueError(f"RED: memory_saving must be one of {MEMORY_SAVING_MODES}, got {mode!r}")
        self.memory_saving = mode
        inner = mode in ("both", "inner")
        self.unet.reversible = inner
        self.unet.checkpointing = inner

    @property
    def outer_reversible(self) -> bool:
        return self.memory_saving in ("both", "outer")

    def alpha_bar(self) -> Tensor:
        """ᾱ_0 = 1, ᾱ_t = Π_{i≤t} sigmoid(a_i), as a (T+1,) tensor."""
        one = torch.ones(1, dtype=self.alpha_logit.dtype, device=self.alpha_logit.device)
        return torch.cat([one, torch.cumprod(torch.sigmoid(self.alpha_logit), 0)])

    def layers(self) -> CouplingList:
        """The T sampling layers in execution order (t = T, T−1, …, 1)."""
        out = CouplingList(DDIMStep(self, t) for t in range(self.steps, 0, -1))
        out.trace = self.rev_trace
        return out

    # ------------------------------------------------------------------------------ forward
    def states(self, ir: Tensor, vis: Tensor) -> tuple[Tensor, Tensor]:
        """Run the chain; returns the last two states (x1, x2) = (f_{T+1}, f_T)."""
        for label, t in (("ir", ir), ("vis", vis)):
            if not isinstance(t, Tensor):
                raise TypeError(f"RED: {label} must be a torch.Tensor, got {type(t).__name__}")
            if t.ndim != 4 or t.shape[1] != 1:
                raise ValueError(f"RED: {label} must be (B, 1, H, W), got {tuple(t.shape)}")
        if ir.shape != vis.shape:
            raise ValueError(f"RED: ir shape {tuple(ir.shape)} != vis shape {tuple(vis.shape)}")
        h, w = ir.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f"RED: H and W must be multiples of 4 (pixel-unshuffle by 2, then one stride-2 "
                             f"downsample), got {h}×{w}; pad first")
        x1, x2 = self.input_gain * ir, self.input_gain * vis
        # every trainable tensor the layers use is an explicit input of the reversible Function, so
        # autograd records it even when the data input does not require grad (otherwise the U-Net would
        # silently get no gradient and only w would train)
        params = [p for p in self.parameters() if p is not self.w and p is not self.input_gain]
        return run_couplings(self.layers(), x1, x2, params=params, reversible=self.outer_reversible)

    def forward(self, ir: Tensor, vis: Tensor) -> Tensor:
        """Fused Y, **not clamped** (the loss sees the raw output; the fuser clamps to [0, 1])."""
        x1, x2 = self.states(ir, vis)
        return self.w * x1 + (1.0 - self.w) * x2

    def extra_repr(self) -> str:
        return f"steps={self.steps}, coupling={self.coupling!r}, memory_saving={self.memory_saving!r}"


def build_red(variant: str = "full", **kwargs) -> RED:
    """``variant`` "full" (SD-1.5 widths, 115.25 M parameters) or "tiny" (tests)."""
    configs = {"full": UNetConfig.sd15(), "tiny": UNetConfig.tiny()}
    if variant not in configs:
        raise ValueError(f"RED variant must be one of {sorted(configs)}, got {variant!r}")
    return RED(configs[variant], **kwargs)


def reference_parameter_count(steps: int = 2, coupling: str = "paper") -> int:
    """115,247,684 SD-derived parameters (the pruned SD-1.5 U-Net, see :mod:`models.red.unet`) + the
    reversible scalars of the inner blocks and of the outer chain."""
    inner = 4 + 6 + 17        # input help scales, merge scales, per-module v
    outer = steps + 2         # α logits, input gain, w
    if coupling == "idm":
        outer += steps
    return 115_247_684 + inner + outer


__all__ = ["RED", "DDIMStep", "build_red", "reference_parameter_count", "MEMORY_SAVING_MODES", "COUPLINGS"]
