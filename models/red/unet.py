"""Stable Diffusion 1.5 U-Net pruned to its outermost two levels, in plain PyTorch (no diffusers).

RED (Xu et al., arXiv 2601.20260, §3.2) keeps the outermost two levels of the SD-1.5 U-Net and makes
its residual blocks reversible. The concrete pruning follows RED's public parent design IDM
(Guaishou74851/IDM), as this project reconstructs it (``docs/red.md``):

* ``conv_in`` 4→C0; ``down_blocks.0`` (C0) and ``down_blocks.1`` (C1, no downsampler), each two
  ResNet + self-attention Transformer sub-blocks; no time embedding, no cross-attention;
* the C1 output of the down path is repeated ×2 along channels (2·C1 = 1280 in SD-1.5), standing in
  for the removed deeper levels so that the pretrained first up block still fits;
* ``up_blocks.0`` (C1, SD's ``up_blocks.2``, with upsampler) and ``up_blocks.1`` (C0, SD's
  ``up_blocks.3``), each three ResNet + Transformer sub-blocks consuming the skips newest first;
* ``conv_norm_out`` / SiLU / ``conv_out`` C0→4.

Module and parameter names follow the diffusers layout, so a pruned SD-1.5 state dict loads
strictly (``models.red.sd15``). With C = (320, 640) the SD-derived part has 115,247,684 parameters.

Memory saving inside the U-Net: in every block the stream is duplicated into
two streams ``(h, s·h)``; every same-width module M (ResNet in == out, Transformer, and the up-block
ResNets 1–2 that take a skip as a side input) becomes the coupling
``y1 = v·x2 + (1 − v)·M(x1)``, ``y2 = x1`` (v learnable, 0.5 at init), run through
:class:`~models.red.reversible.RevBackProp`; the streams are merged as ``x1 + m·x2`` (m = 0 at init)
wherever the block emits a skip or its output. Width-changing layers (down ResNet 320→640, the
downsampler, each up block's first ResNet, the upsampler) cannot be inverted and are activation-
checkpointed instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .reversible import CouplingList, maybe_checkpoint, run_couplings


@dataclass(frozen=True)
class UNetConfig:
    """Widths of the pruned U-Net. ``sd15()`` is the real one; ``tiny()`` is for tests."""

    channels: tuple[int, int] = (320, 640)
    heads: int = 8                 # SD-1.5 "attention_head_dim: 8" is the number of heads
    groups: int = 32               # GroupNorm groups
    latent_channels: int = 4       # pixel-unshuffle(1 channel, 2) -> 4, as SD's latent
    resnet_eps: float = 1e-5
    transformer_eps: float = 1e-6  # GroupNorm of Transformer2DModel
    layer_norm_eps: float = 1e-5   # LayerNorms inside BasicTransformerBlock

    @classmethod
    def sd15(cls) -> "UNetConfig":
        return cls()

    @classmethod
    def tiny(cls) -> "UNetConfig":
        return cls(channels=(16, 32), heads=2, groups=4)

    def __post_init__(self):
        for c in self.channels:
            if c % self.groups or c % self.heads:
                raise ValueError(f"UNetConfig: every width must be divisible by groups={self.groups} and "
                                 f"heads={self.heads}, got channels={self.channels}")


# ------------------------------------------------------------------------------------------ modules
class ResnetBlock2D(nn.Module):
    """diffusers ``ResnetBlock2D`` without the time projection: shortcut(x) + conv2(σ(n2(conv1(σ(n1(x))))))."""

    def __init__(self, cin: int, cout: int, groups: int, eps: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class SelfAttention(nn.Module):
    """diffusers ``Attention`` (``attn1``) through ``scaled_dot_product_attention`` (never materialised)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])  # index 0 as in diffusers (1 is dropout)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        h = self.heads

        def split(t: Tensor) -> Tensor:
            return t.view(b, n, h, c // h).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.to_q(x)), split(self.to_k(x)), split(self.to_v(x)))
        return self.to_out[0](out.transpose(1, 2).reshape(b, n, c))


class GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x: Tensor) -> Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    """GEGLU feed-forward with diffusers' ``net.0`` / ``net.2`` names (``net.1`` is dropout 0)."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, mult * dim), nn.Identity(), nn.Linear(mult * dim, dim)])

    def forward(self, x: Tensor) -> Tensor:
        return self.net[2](self.net[0](x))


class BasicTransformerBlock(nn.Module):
    """Self-attention + GEGLU feed-forward; SD's cross-attention (``attn2``/``norm2``) is removed."""

    def __init__(self, dim: int, heads: int, eps: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn1 = SelfAttention(dim, heads)
        self.norm3 = nn.LayerNorm(dim, eps=eps)
        self.ff = FeedForward(dim)
        #: inference only: run the feed-forward over chunks of this many tokens (0 = at once)
        self.ff_chunk_tokens = 0

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn1(self.norm1(x)) + x
        n = self.ff_chunk_tokens
        if n and torch.is_inference_mode_enabled() and x.shape[1] > n:
            # row-wise identical; bounds the 8C-wide GEGLU activation at large images
            return torch.cat([self.ff(self.norm3(part)) + part for part in x.split(n, dim=1)], dim=1)
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    """diffusers ``Transformer2DModel`` (conv ``proj_in``/``proj_out``), with its own residual."""

    def __init__(self, dim: int, heads: int, groups: int, eps: float, ln_eps: float):
        super().__init__()
        self.norm = nn.GroupNorm(groups, dim, eps=eps)
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(dim, heads, ln_eps)])
        self.proj_out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x))
        h = h.permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        h = self.transformer_blocks[0](h)
        h = h.reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        return self.proj_out(h) + x


class Downsample2D(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


# ------------------------------------------------------------------------------------------ couplings
class _VCoupling:
    """IDM coupling of a same-width module: ``y1 = v·x2 + (1 − v)·M(x1 [, skip])``."""

    def __init__(self, module: nn.Module, v: nn.Parameter, index: int, side: int | None = None):
        self.module, self.v, self.index, self.side = module, v, index, side

    def coefficient(self) -> Tensor:
        return self.v[self.index]

    def residual(self, x1: Tensor, sides: Sequence[Tensor]) -> Tensor:
        inp = x1 if self.side is None else torch.cat([x1, sides[self.side]], dim=1)
        return (1.0 - self.v[self.index]) * self.module(inp)


def _merge(x1: Tensor, x2: Tensor, m: Tensor) -> Tensor:
    return x1 + m * x2


# ------------------------------------------------------------------------------------------ blocks
class DownBlock(nn.Module):
    """Two [ResNet, Transformer] sub-blocks (+ optional downsampler) with reversible streams.

    Returns the block output and its skips: the merged stream after each sub-block and, when
    there is a downsampler, its output.
    """

    def __init__(self, cin: int, cout: int, cfg: UNetConfig, downsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin, cout, cfg.groups, cfg.resnet_eps),
                                      ResnetBlock2D(cout, cout, cfg.groups, cfg.resnet_eps)])
        self.attentions = nn.ModuleList([Transformer2DModel(cout, cfg.heads, cfg.groups, cfg.transformer_eps,
                                                            cfg.layer_norm_eps) for _ in range(2)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if downsample else None
        self.width_changing_first = cin != cout
        # reversible scalars (the project's own parameters, not in SD-1.5)
        self.input_help_scale = nn.Parameter(torch.ones(()))
        self.merge_scales = nn.Parameter(torch.zeros(2))
        self.coupling_v = nn.Parameter(torch.full((3 if self.width_changing_first else 4,), 0.5))
        #: set to a list to record the reconstructed states of the reversible backward (tests)
        self.rev_trace: list | None = None

    def coupling_groups(self) -> tuple[CouplingList, CouplingList]:
        """The couplings of the two sub-blocks (built per call, so they never hold stale tensors)."""
        mods: list[nn.Module] = [] if self.width_changing_first else [self.resnets[0]]
        mods += [self.attentions[0]]
        first = CouplingList(_VCoupling(m, self.coupling_v, i) for i, m in enumerate(mods))
        second = CouplingList(_VCoupling(m, self.coupling_v, len(mods) + i)
                              for i, m in enumerate([self.resnets[1], self.attentions[1]]))
        first.trace = second.trace = self.rev_trace
        return first, second

    def forward(self, x: Tensor, *, reversible: bool, checkpointing: bool) -> tuple[Tensor, list[Tensor]]:
        if self.width_changing_first:
            x = maybe_checkpoint(self.resnets[0], x, enabled=checkpointing)
        x1, x2 = x, self.input_help_scale * x
        params = list(self.parameters())
        skips = []
        for i, group in enumerate(self.coupling_groups()):
            x1, x2 = run_couplings(group, x1, x2, params=params, reversible=reversible)
            skips.append(_merge(x1, x2, self.merge_scales[i]))
        out = skips[-1]
        if self.downsamplers is not None:
            out = maybe_checkpoint(self.downsamplers[0], out, enabled=checkpointing)
            skips.append(out)
        return out, skips


class UpBlock(nn.Module):
    """Three [ResNet(cat(x, skip)), Transformer] sub-blocks (+ optional upsampler), reversible streams.

    ``resnets.0`` changes width (checkpointed); ``resnets.1``/``resnets.2`` keep the stream width and
    take their skip as a side input of the coupling.
    """

    def __init__(self, cin: int, cout: int, skip_channels: Sequence[int], cfg: UNetConfig, upsample: bool):
        super().__init__()
        if len(skip_channels) != 3:
            raise ValueError(f"UpBlock: expected 3 skip widths, got {skip_channels}")
        ins = [cin + skip_channels[0], cout + skip_channels[1], cout + skip_channels[2]]
        self.resnets = nn.ModuleList([ResnetBlock2D(i, cout, cfg.groups, cfg.resnet_eps) for i in ins])
        self.attentions = nn.ModuleList([Transformer2DModel(cout, cfg.heads, cfg.groups, cfg.transformer_eps,
                                                            cfg.layer_norm_eps) for _ in range(3)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if upsample else None
        self.input_help_scale = nn.Parameter(torch.ones(()))
        self.merge_scale = nn.Parameter(torch.zeros(()))
        self.coupling_v = nn.Parameter(torch.full((5,), 0.5))
        self.rev_trace: list | None = None

    def couplings(self) -> CouplingList:
        a, r, v = self.attentions, self.resnets, self.coupling_v
        out = CouplingList([_VCoupling(a[0], v, 0), _VCoupling(r[1], v, 1, side=0), _VCoupling(a[1], v, 2),
                            _VCoupling(r[2], v, 3, side=1), _VCoupling(a[2], v, 4)])
        out.trace = self.rev_trace
        return out

    def _first(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.resnets[0](torch.cat([x, skip], dim=1))

    def forward(self, x: Tensor, skips: Sequence[Tensor], *, reversible: bool, checkpointing: bool) -> Tensor:
        """``skips``: the three skips this block consumes, newest first."""
        h = maybe_checkpoint(self._first, x, skips[0], enabled=checkpointing)
        x1, x2 = run_couplings(self.couplings(), h, self.input_help_scale * h, sides=[skips[1], skips[2]],
                               params=list(self.parameters()), reversible=reversible)
        out = _merge(x1, x2, self.merge_scale)
        if self.upsamplers is not None:
            out = maybe_checkpoint(self.upsamplers[0], out, enabled=checkpointing)
        return out


class PrunedUNet(nn.Module):
    """The pruned SD-1.5 U-Net (no time, no text input): 4×H×W latent -> 4×H×W ε̂.

    ``reversible`` (inner reversible couplings) and ``checkpointing`` (width-changing layers) are
    set by :class:`~models.red.model.RED`; they change memory only, never the result.
    """

    def __init__(self, cfg: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = cfg
        c0, c1 = cfg.channels
        lat = cfg.latent_channels
        self.conv_in = nn.Conv2d(lat, c0, 3, padding=1)
        self.down_blocks = nn.ModuleList([DownBlock(c0, c0, cfg, downsample=True),
                                          DownBlock(c0, c1, cfg, downsample=False)])
        # skips: [conv_in, d0.s1, d0.s2, d0.down, d1.s1, d1.s2] -> widths [c0, c0, c0, c0, c1, c1]
        self.up_blocks = nn.ModuleList([UpBlock(2 * c1, c1, (c1, c1, c0), cfg, upsample=True),
                                        UpBlock(c1, c0, (c0, c0, c0), cfg, upsample=False)])
        self.conv_norm_out = nn.GroupNorm(cfg.groups, c0, eps=cfg.resnet_eps)
        self.conv_out = nn.Conv2d(c0, lat, 3, padding=1)
        self.reversible = False
        self.checkpointing = False

    def sd_parameter_names(self) -> list[str]:
        """Names of the tensors that come from SD-1.5 (everything but the reversible scalars)."""
        own = ("input_help_scale", "merge_scales", "merge_scale", "coupling_v")
        return [k for k in self.state_dict() if k.rsplit(".", 1)[-1] not in own]

    def set_ff_chunking(self, tokens: int) -> None:
        """Inference-mode feed-forward chunking (tokens per chunk, 0 = off); results are unchanged."""
        if tokens < 0:
            raise ValueError(f"ff chunk size must be >= 0, got {tokens}")
        for m in self.modules():
            if isinstance(m, BasicTransformerBlock):
                m.ff_chunk_tokens = int(tokens)

    def forward(self, z: Tensor) -> Tensor:
        rev, ck = self.reversible, self.checkpointing
        h = self.conv_in(z)
        skips = [h]
        for blk in self.down_blocks:
            h, s = blk(h, reversible=rev, checkpointing=ck)
            skips += s
        h = torch.cat([h, h], dim=1)  # stands in for the removed deeper levels (1280 = 2 × 640)
        for blk in self.up_blocks:
            use = [skips.pop() for _ in range(3)]
            h = blk(h, use, reversible=rev, checkpointing=ck)
        return self.conv_out(F.silu(self.conv_norm_out(h)))
