"""The diffusion module of DMNet: the SR3 denoising U-Net inside a continuous-noise-level Gaussian diffusion.

The U-Net follows SR3 (Saharia et al., "Image Super-Resolution via Iterative Refinement", TPAMI
2022) as configured by DMNet's released ``diffusion.json`` (spec §3.7): 2→2 channels, inner width
128, multipliers [1, 2, 4, 8, 8], 2 residual blocks per level going down and 3 going up, one-head
self-attention at the H/8 level, dropout 0.2, GroupNorm(32) and a noise-level MLP on the continuous
noise level γ = √ᾱ. Attribute names reproduce the official state-dict keys (``downs.9.attn.qkv``,
``noise_level_mlp.1`` ...).

Deviation from the release (spec §6 #4): the plain ε-prediction forward works (the released
``UNet.forward`` raises when features are not requested), which DDPM training needs.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SR3UNet", "GaussianDiffusion", "linear_beta_schedule", "SCHEDULE_BUFFER_NAMES"]

#: noise-schedule buffers that the official ``<name>_gen.pth`` may hold besides ``denoise_fn.*``
SCHEDULE_BUFFER_NAMES = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                         "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
                         "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
                         "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2")


class PositionalEncoding(nn.Module):
    """Sinusoidal encoding of the continuous noise level: [sin(γ·f_k), cos(γ·f_k)], f_k = 10⁻⁴ᵏ/ᵈ."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, noise_level: torch.Tensor) -> torch.Tensor:
        count = self.dim // 2
        step = torch.arange(count, dtype=noise_level.dtype, device=noise_level.device) / count
        enc = noise_level[:, None] * torch.exp(-math.log(1e4) * step[None])
        return torch.cat([torch.sin(enc), torch.cos(enc)], dim=-1)


class Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class FeatureWiseAffine(nn.Module):
    """Adds Linear(emb) per channel (SR3 with ``use_affine_level=False``); key ``noise_func.0``."""

    def __init__(self, emb_dim: int, channels: int):
        super().__init__()
        self.noise_func = nn.Sequential(nn.Linear(emb_dim, channels))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return x + self.noise_func(emb).view(x.shape[0], -1, 1, 1)


class Block(nn.Module):
    """GroupNorm → Swish → (Dropout) → conv 3×3; keys ``block.0`` (norm) and ``block.3`` (conv)."""

    def __init__(self, dim: int, dim_out: int, groups: int, dropout: float = 0.0):
        super().__init__()
        self.block = nn.Sequential(nn.GroupNorm(groups, dim), Swish(),
                                   nn.Dropout(dropout) if dropout else nn.Identity(),
                                   nn.Conv2d(dim, dim_out, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, dim_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.noise_func = FeatureWiseAffine(emb_dim, dim_out)
        self.block1 = Block(dim, dim_out, groups)
        self.block2 = Block(dim_out, dim_out, groups, dropout)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.noise_func(self.block1(x), emb)
        return self.block2(h) + self.res_conv(x)


class SelfAttention(nn.Module):
    """One-head spatial self-attention with a residual: softmax(q·k/√C)·v over all H·W positions."""

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, channels * 3, 1, bias=False)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(dim=1)
        out = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]  # (b, hw, c)
        return self.out(out.transpose(-1, -2).reshape(b, c, h, w)) + x


class ResnetBlocWithAttn(nn.Module):
    def __init__(self, dim: int, dim_out: int, emb_dim: int, groups: int, dropout: float, with_attn: bool):
        super().__init__()
        self.res_block = ResnetBlock(dim, dim_out, emb_dim, groups, dropout)
        if with_attn:
            self.attn = SelfAttention(dim_out, groups)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        x = self.res_block(x, emb)
        return self.attn(x) if hasattr(self, "attn") else x


class Downsample(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class SR3UNet(nn.Module):
    """SR3 U-Net with noise-level conditioning.

    ``attn_levels`` lists the level indices (0 = full resolution) with self-attention; DMNet's
    ``attn_res=[16]`` with ``image_size=128`` is level 3 (H/8), fixed by the config, not by the input.
    The input side must be divisible by ``2**(len(channel_mults) - 1)``.
    """

    def __init__(self, in_channel: int = 2, out_channel: int = 2, inner_channel: int = 128, norm_groups: int = 32,
                 channel_mults: Sequence[int] = (1, 2, 4, 8, 8), attn_levels: Sequence[int] = (3,),
                 res_blocks: int = 2, dropout: float = 0.2):
        super().__init__()
        for c in [inner_channel * m for m in channel_mults]:
            if c % norm_groups:
                raise ValueError(f"SR3UNet: every width must be divisible by norm_groups={norm_groups}, got {c}")
        self.num_levels = len(channel_mults)
        emb = inner_channel
        self.noise_level_mlp = nn.Sequential(PositionalEncoding(inner_channel), nn.Linear(inner_channel, inner_channel * 4),
                                             Swish(), nn.Linear(inner_channel * 4, inner_channel))
        self.init_conv = nn.Conv2d(in_channel, inner_channel, 3, padding=1)
        skip_ch = [inner_channel]
        pre = inner_channel
        downs: list[nn.Module] = []
        for lvl, mult in enumerate(channel_mults):
            ch = inner_channel * mult
            for _ in range(res_blocks):
                downs.append(ResnetBlocWithAttn(pre, ch, emb, norm_groups, dropout, lvl in attn_levels))
                skip_ch.append(ch)
                pre = ch
            if lvl != self.num_levels - 1:
                downs.append(Downsample(pre))
                skip_ch.append(pre)
        self.downs = nn.ModuleList(downs)
        self.mid = nn.ModuleList([ResnetBlocWithAttn(pre, pre, emb, norm_groups, dropout, True),
                                  ResnetBlocWithAttn(pre, pre, emb, norm_groups, dropout, False)])
        ups: list[nn.Module] = []
        #: level (0 = full resolution) of each up-path ResBlock, in execution order
        self.up_levels: list[int] = []
        for lvl in reversed(range(self.num_levels)):
            ch = inner_channel * channel_mults[lvl]
            for _ in range(res_blocks + 1):
                ups.append(ResnetBlocWithAttn(pre + skip_ch.pop(), ch, emb, norm_groups, dropout, lvl in attn_levels))
                self.up_levels.append(lvl)
                pre = ch
            if lvl != 0:
                ups.append(Upsample(pre))
        self.ups = nn.ModuleList(ups)
        self.final_conv = Block(pre, out_channel, norm_groups)
        self.level_channels = [inner_channel * m for m in channel_mults]

    def _check(self, x: torch.Tensor) -> None:
        m = 2 ** (self.num_levels - 1)
        if x.ndim != 4 or x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"SR3UNet: expected (B, C, H, W) with H and W divisible by {m}, got {tuple(x.shape)}")

    def run(self, x: torch.Tensor, noise_level: torch.Tensor,
            on_feature: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
        """Run the U-Net up to the last up-path block; return its output (before ``final_conv``).

        ``on_feature(level, map)`` is called for every up-path ResBlock output as it is computed
        (DMNet's feature mode: 15 maps for the default configuration, three per level, coarse to
        fine). Handing them over one at a time lets the caller project each map and drop it instead
        of holding all of them at full resolution.
        """
        self._check(x)
        emb = self.noise_level_mlp(noise_level.to(x.dtype))
        x = self.init_conv(x)
        feats = [x]
        for layer in self.downs:
            x = layer(x, emb) if isinstance(layer, ResnetBlocWithAttn) else layer(x)
            feats.append(x)
        for layer in self.mid:
            x = layer(x, emb)
        levels = iter(self.up_levels)
        for layer in self.ups:
            if isinstance(layer, ResnetBlocWithAttn):
                x = layer(torch.cat((x, feats.pop()), dim=1), emb)
                if on_feature is not None:
                    on_feature(next(levels), x)
            else:
                x = layer(x)
        return x

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor) -> torch.Tensor:
        """ε prediction (the released code's ``feat_need=False`` path, restored)."""
        return self.final_conv(self.run(x, noise_level))


def linear_beta_schedule(n_timestep: int, start: float, end: float) -> np.ndarray:
    """SR3's ``make_beta_schedule('linear')``: float64 linspace."""
    return np.linspace(start, end, n_timestep, dtype=np.float64)


class GaussianDiffusion(nn.Module):
    """Continuous-noise-level DDPM wrapper around the U-Net (``denoise_fn``), SR3 style.

    Schedule: linear β from ``linear_start`` to ``linear_end`` over ``n_timestep`` steps (DMNet:
    1e-6 → 1e-2 over 2000). For a step t ∈ {1…T}, γ is drawn uniformly between √ᾱ_t and √ᾱ_{t−1}
    (ᾱ_0 = 1) and x_t = γ·x_0 + √(1−γ²)·ε. The schedule is plain data (numpy), not a state-dict
    buffer; see :mod:`models.dmnet.checkpoint` for the official file's buffers.
    """

    def __init__(self, denoise_fn: SR3UNet, n_timestep: int = 2000, linear_start: float = 1e-6,
                 linear_end: float = 1e-2):
        super().__init__()
        self.denoise_fn = denoise_fn
        self.num_timesteps = int(n_timestep)
        self.betas = linear_beta_schedule(n_timestep, linear_start, linear_end)
        self.alphas_cumprod = np.cumprod(1.0 - self.betas)
        #: √ᾱ with ᾱ_0 = 1 prepended: index t is √ᾱ_t for t = 0…T
        self.sqrt_alphas_cumprod_prev = np.sqrt(np.append(1.0, self.alphas_cumprod))

    def schedule_buffers(self) -> dict[str, np.ndarray]:
        """The SR3 buffers that can be compared with an official file's (float64)."""
        ac = self.alphas_cumprod
        return {"betas": self.betas, "alphas_cumprod": ac, "alphas_cumprod_prev": np.append(1.0, ac[:-1]),
                "sqrt_alphas_cumprod": np.sqrt(ac), "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - ac)}

    def _check_t(self, t: int) -> None:
        if not 1 <= int(t) <= self.num_timesteps:
            raise ValueError(f"timestep must be in 1…{self.num_timesteps}, got {t}")

    def gamma_bounds(self, t: int) -> tuple[float, float]:
        """(√ᾱ_t, √ᾱ_{t−1}): the interval γ is drawn from at step t."""
        self._check_t(t)
        return float(self.sqrt_alphas_cumprod_prev[t]), float(self.sqrt_alphas_cumprod_prev[t - 1])

    def draw_gamma(self, t: torch.Tensor | int, u: torch.Tensor) -> torch.Tensor:
        """γ = lo + u·(hi − lo) for uniform ``u`` in [0, 1) and integer steps ``t`` (scalar or per element)."""
        table = torch.as_tensor(self.sqrt_alphas_cumprod_prev, dtype=torch.float64)
        t = torch.as_tensor(t, dtype=torch.long).cpu()
        lo, hi = table[t], table[t - 1]
        return (lo + u.detach().cpu().double() * (hi - lo)).float()

    @staticmethod
    def q_sample(x0: torch.Tensor, gamma: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        g = gamma.to(x0.device, x0.dtype).view(-1, 1, 1, 1)
        return g * x0 + (1.0 - g * g).sqrt() * noise

    def features(self, x0: torch.Tensor, gamma: torch.Tensor, noise: torch.Tensor,
                 on_feature: Callable[[int, torch.Tensor], None]) -> None:
        """Noise ``x0`` to level γ with ``noise`` and pass the up-path maps to ``on_feature`` (feature mode)."""
        self.denoise_fn.run(self.q_sample(x0, gamma, noise), gamma.to(x0.device), on_feature)

    def p_losses(self, x0: torch.Tensor) -> torch.Tensor:
        """DDPM ε-prediction loss mean((ε − ε̂)²) with t ~ U{1…T} per element (global torch RNG).

        SR3 sums the squared error and normalises by b·c·h·w, i.e. the mean. The RNG is torch's global
        one on purpose: the training loop checkpoints it, so a resumed run draws the same noise.
        """
        b = x0.shape[0]
        t = torch.randint(1, self.num_timesteps + 1, (b,))
        gamma = self.draw_gamma(t, torch.rand(b)).to(x0.device)
        noise = torch.randn_like(x0)
        x_noisy = self.q_sample(x0, gamma, noise)
        return F.mse_loss(self.denoise_fn(x_noisy, gamma.to(x0.dtype)), noise)
