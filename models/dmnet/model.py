"""The full DMNet: shared encoder, CSAB, diffusion features through upSkip, decoder.

Data flow (spec §2, per image pair; VIS is the Y channel, all maps keep the input resolution):

1. F_D^V, b^V = Encoder(VIS); F_D^I, b^I = Encoder(IR)   (b = the five DTB branch outputs)
2. base = CSAB(F_D^V) + CSAB(F_D^I)                       (one shared CSAB)
3. DM input: the mean of cat(VIS, IR) and cat(r(b_k^V), r(b_k^I)), k = 1…5, with r = reduce_channel1
   (as released; ``dm_input="concat"`` uses cat(VIS, IR) alone, the paper's description)
4. for t in (5, 50, 100): noise the DM input to level γ_t, run the frozen SR3 U-Net, project its 15
   up-path maps with upSkip (+ its CSAB) to one 64-channel map; average over the three steps → av
5. fused = Decoder(VIS, base + av) = sigmoid(output(block(base + av)) + VIS)

Deviations from the released code (spec §6): the top-level CSAB, upSkip with its CSAB, and
reduce_channel1 are registered submodules that train and save (the release re-creates them with
fresh random weights); this adds 21,571,747 parameters to the released configuration's 392,487,605.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import CSAB, Decoder, Encoder
from .sr3 import GaussianDiffusion, SR3UNet

__all__ = ["DMNetConfig", "DMNet", "UpSkip", "CONFIGS", "build_dmnet", "reset_parameters_", "parameter_breakdown",
           "FeatureNoise", "draw_feature_noise"]

#: names of the five upSkip projections (level 0…4), as in the released code
UPSKIP_NAMES = ("to2", "to4", "to8", "to161", "to162")


@dataclass(frozen=True)
class DMNetConfig:
    """Widths and diffusion settings. :data:`CONFIGS` holds ``"dmnet"`` (released) and ``"tiny"``."""

    dim: int = 64                      # encoder/decoder width (also upSkip's output width)
    num_heads: int = 8
    ffn_expansion: float = 2.0
    unet_inner_channel: int = 128
    unet_channel_mults: tuple[int, ...] = (1, 2, 4, 8, 8)
    unet_res_blocks: int = 2
    unet_attn_levels: tuple[int, ...] = (3,)   # attn_res=[16] with image_size 128
    unet_norm_groups: int = 32
    unet_dropout: float = 0.2
    n_timestep: int = 2000
    linear_start: float = 1e-6
    linear_end: float = 1e-2
    feature_timesteps: tuple[int, ...] = (5, 50, 100)
    dm_input: str = "release"          # "release": six-way mean; "concat": cat(VIS, IR) (paper)
    csab_reduction: int = 4

    def __post_init__(self):
        if len(self.unet_channel_mults) != len(UPSKIP_NAMES):
            raise ValueError(f"DMNetConfig: upSkip expects {len(UPSKIP_NAMES)} U-Net levels, "
                             f"got unet_channel_mults={self.unet_channel_mults}")
        if self.dm_input not in ("release", "concat"):
            raise ValueError(f"DMNetConfig: dm_input must be 'release' or 'concat', got {self.dm_input!r}")
        if not self.feature_timesteps or any(not 1 <= t <= self.n_timestep for t in self.feature_timesteps):
            raise ValueError(f"DMNetConfig: feature_timesteps must lie in 1…{self.n_timestep}, "
                             f"got {self.feature_timesteps}")

    @property
    def pad_multiple(self) -> int:
        return 2 ** (len(self.unet_channel_mults) - 1)

    def to_dict(self) -> dict:
        return asdict(self)


CONFIGS: dict[str, DMNetConfig] = {
    # diffusion.json + net.py of the release (spec §3)
    "dmnet": DMNetConfig(),
    # same code, reduced widths: for tests and smoke runs (not a model of the paper)
    "tiny": DMNetConfig(dim=16, num_heads=2, unet_inner_channel=16, unet_channel_mults=(1, 2, 2, 4, 4),
                        unet_norm_groups=8),
}


class UpSkip(nn.Module):
    """Projects each U-Net up-path map to ``dim`` channels at full resolution and fuses them.

    Level l uses ConvTranspose2d(kernel = stride = 2**l, no bias) → InstanceNorm2d (no affine) → GELU,
    then one shared CSAB; the output is the sum over the 15 maps divided by 75 (as released). The
    released ``to15`` (960→64, never used) is omitted. The shared CSAB is the parent model's
    ``up_skip_csab`` (its own ``upSkip_CSAB`` group in the checkpoint); :meth:`DMNet.diffusion_features`
    applies it and does the sum.
    """

    def __init__(self, level_channels: Sequence[int], dim: int):
        super().__init__()
        for lvl, (name, ch) in enumerate(zip(UPSKIP_NAMES, level_channels)):
            setattr(self, name, nn.ConvTranspose2d(ch, dim, 2 ** lvl, stride=2 ** lvl, bias=False))

    def project(self, level: int, fmap: torch.Tensor) -> torch.Tensor:
        x = getattr(self, UPSKIP_NAMES[level])(fmap)
        return F.gelu(F.instance_norm(x))


@dataclass
class FeatureNoise:
    """The random draws of one feature pass: γ (B,) and ε (B, 2, H, W) per feature timestep."""

    gammas: list[torch.Tensor]
    eps: list[torch.Tensor]


def draw_feature_noise(diffusion: GaussianDiffusion, timesteps: Sequence[int], batch: int, shape: tuple[int, int],
                       seed: int | None) -> FeatureNoise:
    """Draw γ_t and ε_t for every timestep, on the CPU.

    ``seed`` given: one ``torch.Generator(seed)`` **per image** (all images of a batch get the draws a
    single-image call would get, so results do not depend on batching or device). ``seed=None``: the
    global torch RNG (training). Order per image: for t in timesteps: u (γ), then ε.
    """
    h, w = shape
    us = [torch.empty(batch) for _ in timesteps]
    eps = [torch.empty(batch, 2, h, w) for _ in timesteps]
    for i in range(batch):
        g = None if seed is None else torch.Generator().manual_seed(int(seed))
        for j in range(len(timesteps)):
            us[j][i] = torch.rand(1, generator=g)[0]
            eps[j][i] = torch.randn(2, h, w, generator=g)
    gammas = [diffusion.draw_gamma(t, u) for t, u in zip(timesteps, us)]
    return FeatureNoise(gammas, eps)


class DMNet(nn.Module):
    """DMNet (IEEE IoT Journal 2025) with the released code's modules registered (see module docstring).

    ``forward(ir, vis, noise=None)`` takes (B,1,H,W) tensors in [0, 1], H and W divisible by 16, and
    returns the fused (B,1,H,W) in (0, 1). The diffusion U-Net runs in whatever mode the module is in;
    the fuser and stage II keep it in eval mode.
    """

    def __init__(self, config: DMNetConfig | None = None):
        super().__init__()
        self.config = cfg = config or DMNetConfig()
        self.encoder = Encoder(1, cfg.dim, cfg.num_heads, cfg.ffn_expansion)
        self.decoder = Decoder(1, cfg.dim, cfg.num_heads, cfg.ffn_expansion)
        self.csab = CSAB(cfg.dim, cfg.csab_reduction)
        unet = SR3UNet(2, 2, cfg.unet_inner_channel, cfg.unet_norm_groups, cfg.unet_channel_mults,
                       cfg.unet_attn_levels, cfg.unet_res_blocks, cfg.unet_dropout)
        self.diffusion = GaussianDiffusion(unet, cfg.n_timestep, cfg.linear_start, cfg.linear_end)
        self.up_skip = UpSkip(unet.level_channels, cfg.dim)
        self.up_skip_csab = CSAB(cfg.dim, cfg.csab_reduction)
        self.reduce_channel1 = nn.Conv2d(cfg.dim, 1, 1, bias=False)

    # ------------------------------------------------------------------ pieces
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Stage-I autoencoder path: Decoder(x, CSAB(Encoder(x).F_D)) (residual to ``x`` itself)."""
        return self.decoder(x, self.csab(self.encoder.features(x)))

    def encode_pair(self, vis: torch.Tensor, ir: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(CSAB(F_D^V) + CSAB(F_D^I), DM input) — steps 1–4 of the data flow."""
        release = self.config.dm_input == "release"
        r = self.reduce_channel1 if release else None
        f_vis, r_vis = self.encoder.encode(vis, r)
        base = self.csab(f_vis)
        del f_vis
        f_ir, r_ir = self.encoder.encode(ir, r)
        base = base + self.csab(f_ir)
        del f_ir
        x0 = torch.cat((vis, ir), dim=1)
        if release:  # mean of cat(VIS, IR) and the five cat(r(b_k^V), r(b_k^I))
            x0 = torch.stack([x0] + [torch.cat(p, dim=1) for p in zip(r_vis, r_ir)]).mean(dim=0)
        return base, x0

    def diffusion_features(self, x0: torch.Tensor, noise: FeatureNoise, dm_grad: bool = False) -> torch.Tensor:
        """``av``: upSkip fusion of the U-Net's up-path maps, averaged over the feature timesteps.

        With ``dm_grad=False`` the U-Net runs under no_grad (stage II, inference) while the upSkip
        projections and their CSAB keep the caller's grad mode. Each map is projected as soon as the
        U-Net produces it, so only one running sum is held at full resolution.
        """
        grad_outside = torch.is_grad_enabled()
        n_maps = len(self.diffusion.denoise_fn.up_levels)
        acc = None
        for gamma, eps in zip(noise.gammas, noise.eps):
            total = _Sum()

            def on_feature(level: int, fmap: torch.Tensor) -> None:
                with torch.set_grad_enabled(grad_outside):
                    total.add(self.up_skip_csab(self.up_skip.project(level, fmap)))

            with torch.set_grad_enabled(grad_outside and dm_grad):
                self.diffusion.features(x0, gamma.to(x0.device), eps.to(x0.device, x0.dtype), on_feature)
            per_t = total.value / (5 * n_maps)  # the release divides the sum of the 15 maps by 75
            acc = per_t if acc is None else acc + per_t
        return acc / len(noise.gammas)

    def draw_noise(self, batch: int, shape: tuple[int, int], seed: int | None) -> FeatureNoise:
        return draw_feature_noise(self.diffusion, self.config.feature_timesteps, batch, shape, seed)

    # ------------------------------------------------------------------ forward
    def forward(self, ir: torch.Tensor, vis: torch.Tensor, noise: FeatureNoise | None = None,
                dm_grad: bool = False) -> torch.Tensor:
        """Fuse. ``noise=None`` draws from the global RNG; ``dm_grad=False`` runs the U-Net under no_grad."""
        if ir.shape != vis.shape or ir.ndim != 4 or ir.shape[1] != 1:
            raise ValueError(f"DMNet: expected ir and vis of shape (B, 1, H, W), got {tuple(ir.shape)} "
                             f"and {tuple(vis.shape)}")
        m = self.config.pad_multiple
        if ir.shape[-2] % m or ir.shape[-1] % m:
            raise ValueError(f"DMNet: H and W must be multiples of {m} (pad first), got {tuple(ir.shape[-2:])}")
        base, x0 = self.encode_pair(vis, ir)
        if noise is None:
            noise = self.draw_noise(ir.shape[0], tuple(ir.shape[-2:]), None)
        return self.decoder(vis, base + self.diffusion_features(x0, noise, dm_grad))


class _Sum:
    def __init__(self):
        self.value: torch.Tensor | None = None

    def add(self, x: torch.Tensor) -> None:
        self.value = x if self.value is None else self.value + x


def reset_parameters_(module: nn.Module, seed: int) -> None:
    """Re-initialise every parameter of ``module`` with PyTorch's default scheme from ``seed``.

    Calls ``reset_parameters()`` on ``module.modules()`` in registration order (the order in which
    construction would draw them) under a forked global RNG, which is restored afterwards.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        with torch.no_grad():
            for m in module.modules():
                reset = getattr(m, "reset_parameters", None)
                if callable(reset):
                    reset()


def build_dmnet(config: DMNetConfig | str = "dmnet", *, seed: int | None = 0) -> DMNet:
    """Build a DMNet on the CPU; ``seed`` given: default init from that seed, None: uninitialised memory.

    The modules are created on the meta device and materialised once, so a caller that loads every
    weight from a checkpoint (``seed=None``) skips the initialisation of ~414 M parameters.
    """
    if isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(f"unknown DMNet variant {config!r}; expected one of {sorted(CONFIGS)}")
        config = CONFIGS[config]
    with torch.device("meta"):
        model = DMNet(config)
    model.to_empty(device="cpu")
    if seed is not None:
        reset_parameters_(model, seed)
    return model


def _count(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def parameter_breakdown(model: DMNet) -> dict[str, int]:
    """Itemised parameter count (spec §4); the ``released_config`` and ``total`` lines are subtotals.

    ``released_config`` = U-Net + Encoder + Decoder (as defined, idle blocks included) + one CSAB: the
    persistent modules of the released code. ``registered_additions`` = upSkip + its CSAB +
    reduce_channel1, which the release re-created randomly on every call.
    """
    if not isinstance(model, DMNet):
        raise TypeError(f"parameter_breakdown: expected a DMNet, got {type(model).__name__}")
    unet = model.diffusion.denoise_fn
    out = {
        "unet_downs": _count(unet.downs), "unet_mid": _count(unet.mid), "unet_ups": _count(unet.ups),
        "unet_noise_mlp": _count(unet.noise_level_mlp),
        "unet_init_final_conv": _count(unet.init_conv) + _count(unet.final_conv),
        "unet": _count(unet),
        "encoder": _count(model.encoder),
        "decoder": _count(model.decoder),
        "decoder_unused": model.decoder.unused_parameters(),
        "csab": _count(model.csab),
        "upskip": _count(model.up_skip),
        "upskip_csab": _count(model.up_skip_csab),
        "reduce_channel1": _count(model.reduce_channel1),
    }
    out["released_config"] = out["unet"] + out["encoder"] + out["decoder"] + out["csab"]
    out["registered_additions"] = out["upskip"] + out["upskip_csab"] + out["reduce_channel1"]
    out["total"] = out["released_config"] + out["registered_additions"]
    if out["total"] != _count(model):
        raise RuntimeError(f"parameter_breakdown: items sum to {out['total']}, the model has {_count(model)}")
    return out
