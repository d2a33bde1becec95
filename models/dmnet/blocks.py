"""DMNet feature extractor and reconstructor: Restormer blocks, DTB, DIB (INN), CSAB, Encoder, Decoder.

DMNet ("A Dense Multiscale Feature Extraction Network With Two-Stage Training for Infrared-Visible
Image Fusion", IEEE IoT Journal 2025) builds its encoder from the Restormer transformer block
(Zamir et al., CVPR 2022) and the INN detail branch of CDDFuse (Zhao et al., CVPR 2023). The
attribute names below reproduce the released code's state-dict keys (``patch_embed.proj``,
``encoder_level{k}``, ``detailFeature.net.{j}.theta_phi.bottleneckBlock.0`` ...) so the official
checkpoints load strictly; see ``docs/dmnet.md`` and the reference spec §3.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["WithBiasLayerNorm", "LayerNorm2d", "MDTA", "GDFN", "TransformerBlock", "DenseTransformerBlock",
           "InvertedResidualBlock", "DetailNode", "INN", "CSAB", "OverlapPatchEmbed", "Encoder", "Decoder"]


class WithBiasLayerNorm(nn.Module):
    """LayerNorm over the last axis with weight and bias (Restormer's ``WithBias_LayerNorm``, eps 1e-5)."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, eps=1e-5)


class LayerNorm2d(nn.Module):
    """Channel LayerNorm of a (B, C, H, W) map computed on a (B, HW, C) view (key ``body.weight``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.body = WithBiasLayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class MDTA(nn.Module):
    """Multi-Dconv-head transposed attention: attention across channels (a C/h × C/h map per head)."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"MDTA: dim must be divisible by num_heads, got dim={dim}, num_heads={num_heads}")
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, 3, padding=1, groups=dim * 3, bias=False)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=False)

    def reset_parameters(self) -> None:
        """Own parameter only (the convolutions reset themselves)."""
        nn.init.ones_(self.temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q = F.normalize(q.reshape(b, self.num_heads, c // self.num_heads, h * w), dim=-1)
        k = F.normalize(k.reshape(b, self.num_heads, c // self.num_heads, h * w), dim=-1)
        v = v.reshape(b, self.num_heads, c // self.num_heads, h * w)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)
        return self.project_out((attn @ v).reshape(b, c, h, w))


class GDFN(nn.Module):
    """Gated-Dconv feed-forward network: GELU(x1) · x2 after a depthwise 3×3."""

    def __init__(self, dim: int, expansion: float):
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden * 2, 1, bias=False)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=False)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)


class TransformerBlock(nn.Module):
    """Restormer block: x + MDTA(LN(x)), then + GDFN(LN(x)); 45,256 parameters at dim 64, 8 heads."""

    def __init__(self, dim: int, num_heads: int, ffn_expansion: float):
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = MDTA(dim, num_heads)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GDFN(dim, ffn_expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


def _stack(depth: int, dim: int, heads: int, ffn: float) -> nn.Sequential:
    return nn.Sequential(*[TransformerBlock(dim, heads, ffn) for _ in range(depth)])


class DenseTransformerBlock(nn.Module):
    """DTB base: five stacks of depth 1…5 as attributes ``encoder_level1`` … ``encoder_level5``.

    The released code runs all five on the **same** input (parallel branches of increasing depth)
    and averages them; the paper describes a cascade. The project follows the code (spec §3.3).
    """

    depths = (1, 2, 3, 4, 5)

    def _build_levels(self, dim: int, heads: int, ffn: float) -> None:
        for k in self.depths:
            setattr(self, f"encoder_level{k}", _stack(k, dim, heads, ffn))

    def branches(self, x: torch.Tensor):
        """Yield the five branch outputs b_1 … b_5 (computed lazily to bound memory)."""
        for k in self.depths:
            yield getattr(self, f"encoder_level{k}")(x)


class InvertedResidualBlock(nn.Module):
    """MobileNetV2 block used by CDDFuse's INN: 1×1 expand, ReLU6, reflect-pad depthwise 3×3, ReLU6, 1×1."""

    def __init__(self, inp: int, oup: int, expand_ratio: int):
        super().__init__()
        hidden = int(inp * expand_ratio)
        self.bottleneckBlock = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False),
            nn.ReLU6(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(hidden, hidden, 3, groups=hidden, bias=False),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottleneckBlock(x)


class DetailNode(nn.Module):
    """One affine-coupling node: shuffle (1×1 conv), z2 += φ(z1), z1 = z1·exp(ρ(z2)) + η(z2)."""

    def __init__(self, dim: int):
        super().__init__()
        half = dim // 2
        self.theta_phi = InvertedResidualBlock(half, half, 2)
        self.theta_rho = InvertedResidualBlock(half, half, 2)
        self.theta_eta = InvertedResidualBlock(half, half, 2)
        self.shffleconv = nn.Conv2d(dim, dim, 1, bias=True)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z1, z2 = self.shffleconv(torch.cat((z1, z2), dim=1)).chunk(2, dim=1)
        z2 = z2 + self.theta_phi(z1)
        z1 = z1 * torch.exp(self.theta_rho(z2)) + self.theta_eta(z2)
        return z1, z2


class INN(nn.Module):
    """INN(3): three coupling nodes on the channel halves (CDDFuse's ``DetailFeatureExtraction``)."""

    def __init__(self, dim: int, num_nodes: int = 3):
        super().__init__()
        if dim % 2:
            raise ValueError(f"INN: dim must be even, got {dim}")
        self.net = nn.Sequential(*[DetailNode(dim) for _ in range(num_nodes)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z1, z2 = x.chunk(2, dim=1)
        for node in self.net:
            z1, z2 = node(z1, z2)
        return torch.cat((z1, z2), dim=1)


class CSAB(nn.Module):
    """Channel and spatial attention block (the released class ``CBAM(64, reduction=4)``).

    Channel attention: sigmoid(MLP(maxpool x) + MLP(0.5·avgpool x + 0.5·maxpool x)); spatial
    attention: sigmoid(conv7×7([max_c, 0.5·mean_c + 0.5·max_c])). 2,147 parameters at 64 channels.
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        if channels % reduction:
            raise ValueError(f"CSAB: channels must be divisible by reduction, got {channels} and {reduction}")
        self.channel_attention = nn.Module()
        self.channel_attention.shared_MLP = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1, bias=False))
        self.spatial_attention = nn.Module()
        self.spatial_attention.conv2d = nn.Conv2d(2, 1, 7, padding=3, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mlp = self.channel_attention.shared_MLP
        mx = F.adaptive_max_pool2d(x, 1)
        mix = 0.5 * F.adaptive_avg_pool2d(x, 1) + 0.5 * mx
        x = x * torch.sigmoid(mlp(mx) + mlp(mix))
        cmax = x.amax(dim=1, keepdim=True)
        cmix = 0.5 * x.mean(dim=1, keepdim=True) + 0.5 * cmax
        return x * torch.sigmoid(self.spatial_attention.conv2d(torch.cat((cmax, cmix), dim=1)))


class OverlapPatchEmbed(nn.Module):
    """3×3 stride-1 convolution from the input channels to ``dim`` (no bias); key ``proj.weight``."""

    def __init__(self, in_ch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, dim, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class Encoder(DenseTransformerBlock):
    """Shared encoder: patch embedding → DTB (mean of 5 parallel stacks) → DIB.

    The DIB applies the **same** INN three times in sequence and averages the three results
    (spec §3.4). ``forward`` returns ``(F_D, [b_1, …, b_5])``; :meth:`features` returns only F_D and
    never holds more than one branch output at a time.
    """

    def __init__(self, in_ch: int = 1, dim: int = 64, num_heads: int = 8, ffn_expansion: float = 2.0):
        super().__init__()
        self.patch_embed = OverlapPatchEmbed(in_ch, dim)
        self._build_levels(dim, num_heads, ffn_expansion)
        self.detailFeature = INN(dim)

    def _dib(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.detailFeature(x)
        d2 = self.detailFeature(d1)
        d3 = self.detailFeature(d2)
        return (d1 + d2 + d3) / 3

    def encode(self, x: torch.Tensor, branch_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """F_D and ``[branch_fn(b_k)]`` (no branches kept when ``branch_fn`` is None).

        Mapping each branch as soon as it is computed (DMNet maps them to one channel) avoids holding
        five full-width maps per modality.
        """
        x = self.patch_embed(x)
        acc, kept = None, []
        for b in self.branches(x):
            acc = b if acc is None else acc + b
            if branch_fn is not None:
                kept.append(branch_fn(b))
        return self._dib(acc / len(self.depths)), kept

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.encode(x, lambda b: b)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """F_D only (the branches are not kept)."""
        return self.encode(x)[0]


class Decoder(DenseTransformerBlock):
    """Decoder: sigmoid(output(encoder_level1(feat)) + vis) — a residual to the visible input.

    ``reduce_channel`` and ``encoder_level2`` … ``encoder_level5`` are defined but unused by the
    released code (641,776 idle parameters at dim 64); they are kept so the official checkpoint loads
    strictly and are itemised separately by :func:`models.dmnet.parameter_breakdown`.
    """

    def __init__(self, out_ch: int = 1, dim: int = 64, num_heads: int = 8, ffn_expansion: float = 2.0):
        super().__init__()
        self.reduce_channel = nn.Conv2d(dim * 2, dim, 1, bias=False)
        self._build_levels(dim, num_heads, ffn_expansion)
        self.output = nn.Sequential(
            nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False), nn.LeakyReLU(0.01),
            nn.Conv2d(dim // 2, out_ch, 3, padding=1, bias=False))

    def forward(self, vis: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.output(self.encoder_level1(feat)) + vis)

    def unused_parameters(self) -> int:
        """Parameters that the forward pass never touches (kept for strict official loading)."""
        idle = [self.reduce_channel] + [getattr(self, f"encoder_level{k}") for k in self.depths[1:]]
        return int(sum(p.numel() for m in idle for p in m.parameters()))
