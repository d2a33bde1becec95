"""Initialise RED's pruned U-Net from local Stable Diffusion 1.5 weights (never downloads).

RED (Xu et al., arXiv 2601.20260) starts from the SD-1.5 U-Net and keeps its two outermost levels.
Two on-disk layouts are understood:

* **diffusers**: ``<dir>/unet/diffusion_pytorch_model[.fp16].safetensors`` (or ``.bin``), a ``unet/``
  directory, or such a file directly. Kept: ``conv_in``, ``down_blocks.{0,1}`` (minus the level-1
  downsampler), SD ``up_blocks.2/3`` renamed ``up_blocks.0/1``, ``conv_norm_out``, ``conv_out``.
* **original LDM** (``v1-5-pruned*.ckpt`` / ``.safetensors``): keys under ``model.diffusion_model.``
  (``input_blocks``/``output_blocks``/``out``), remapped block by block; a ``.ckpt`` is read with
  ``torch.load(weights_only=True)``.

Dropped everywhere: time embedding and time projections, mid block, deeper levels, cross-attention
(``attn2``) and its ``norm2``; in LDM files also the VAE, the text encoder and ``model_ema``.
Loading is strict: every tensor the pruned U-Net expects must be present with the right shape.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import torch
from torch import Tensor

from .unet import PrunedUNet

LDM_PREFIX = "model.diffusion_model."

# LDM block -> pruned diffusers block (after model.diffusion_model.)
_LDM_BLOCKS: dict[str, str] = {
    "input_blocks.0.0": "conv_in",
    "input_blocks.1.0": "down_blocks.0.resnets.0", "input_blocks.1.1": "down_blocks.0.attentions.0",
    "input_blocks.2.0": "down_blocks.0.resnets.1", "input_blocks.2.1": "down_blocks.0.attentions.1",
    "input_blocks.3.0.op": "down_blocks.0.downsamplers.0.conv",
    "input_blocks.4.0": "down_blocks.1.resnets.0", "input_blocks.4.1": "down_blocks.1.attentions.0",
    "input_blocks.5.0": "down_blocks.1.resnets.1", "input_blocks.5.1": "down_blocks.1.attentions.1",
    "output_blocks.8.2.conv": "up_blocks.0.upsamplers.0.conv",
    "out.0": "conv_norm_out", "out.2": "conv_out",
}
for _i, _ldm in enumerate((6, 7, 8)):
    _LDM_BLOCKS[f"output_blocks.{_ldm}.0"] = f"up_blocks.0.resnets.{_i}"
    _LDM_BLOCKS[f"output_blocks.{_ldm}.1"] = f"up_blocks.0.attentions.{_i}"
for _i, _ldm in enumerate((9, 10, 11)):
    _LDM_BLOCKS[f"output_blocks.{_ldm}.0"] = f"up_blocks.1.resnets.{_i}"
    _LDM_BLOCKS[f"output_blocks.{_ldm}.1"] = f"up_blocks.1.attentions.{_i}"

_LDM_RESNET_RENAMES = {"in_layers.0": "norm1", "in_layers.2": "conv1", "out_layers.0": "norm2",
                       "out_layers.3": "conv2", "skip_connection": "conv_shortcut"}

# sub-keys that exist in SD-1.5 but not in the pruned U-Net (time projection, cross-attention)
_DROPPED_SUB = re.compile(r"(^|\.)(time_emb_proj|emb_layers|attn2)\.|transformer_blocks\.\d+\.norm2\.")

#: SD-1.5 ``unet/config.json`` values the pruned U-Net relies on
SD15_CONFIG = {"in_channels": 4, "out_channels": 4, "layers_per_block": 2, "attention_head_dim": 8,
               "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 768}


@dataclass
class SDLoadReport:
    """What :func:`load_sd15_into` did: source file, naming, kept and dropped keys."""

    path: str
    naming: str                 # "diffusers" or "ldm"
    loaded: list[str] = field(default_factory=list)   # pruned (target) names
    dropped: list[str] = field(default_factory=list)  # source names not used

    def summary(self) -> str:
        groups: dict[str, int] = {}
        for k in self.dropped:
            head = ".".join(k.split(".")[:2 if not k.startswith(LDM_PREFIX) else 4])
            groups[head] = groups.get(head, 0) + 1
        top = ", ".join(f"{h}.* ({n})" for h, n in sorted(groups.items()))
        return (f"SD-1.5 {self.naming} weights from {self.path}: {len(self.loaded)} tensors loaded, "
                f"{len(self.dropped)} dropped [{top}]")


# ------------------------------------------------------------------------------------------ remapping
def map_diffusers_key(key: str) -> str | None:
    """Pruned name of a diffusers SD-1.5 U-Net key, or None when pruning drops it."""
    if _DROPPED_SUB.search(key):
        return None
    if key.startswith(("conv_in.", "conv_norm_out.", "conv_out.")):
        return key
    m = re.match(r"down_blocks\.(\d+)\.(.*)", key)
    if m:
        i, rest = int(m.group(1)), m.group(2)
        if i > 1 or (i == 1 and rest.startswith("downsamplers.")):
            return None
        return key
    m = re.match(r"up_blocks\.(\d+)\.(.*)", key)
    if m:
        i = int(m.group(1))
        return f"up_blocks.{i - 2}.{m.group(2)}" if i in (2, 3) else None
    return None  # time_embedding, mid_block, anything else


def map_ldm_key(key: str) -> str | None:
    """Pruned name of an original-LDM checkpoint key (with its ``model.diffusion_model.`` prefix)."""
    if not key.startswith(LDM_PREFIX):
        return None  # VAE, text encoder, model_ema, ...
    key = key[len(LDM_PREFIX):]
    if _DROPPED_SUB.search(key):
        return None
    for ldm_block, name in _LDM_BLOCKS.items():
        if key.startswith(ldm_block + "."):
            rest = key[len(ldm_block) + 1:]
            if ".resnets." in name:
                for old, new in _LDM_RESNET_RENAMES.items():
                    if rest.startswith(old + "."):
                        rest = new + rest[len(old):]
                        break
                else:
                    return None
            return f"{name}.{rest}"
    return None


def detect_naming(keys: Iterable[str]) -> str:
    """"ldm" when keys carry ``model.diffusion_model.``, "diffusers" when they look like diffusers'."""
    keys = list(keys)
    if any(k.startswith(LDM_PREFIX) for k in keys):
        return "ldm"
    if any(k.startswith("conv_in.") for k in keys) and any(k.startswith("down_blocks.") for k in keys):
        return "diffusers"
    sample = ", ".join(keys[:5])
    raise ValueError(f"SD-1.5 weights: expected diffusers U-Net keys (conv_in.*, down_blocks.*) or an LDM "
                     f"checkpoint (model.diffusion_model.*), got keys like: {sample or '(none)'}")


def remap_sd15_state_dict(state: Mapping[str, Tensor], naming: str | None = None
                          ) -> tuple[dict[str, Tensor], list[str], str]:
    """Filter and rename an SD-1.5 state dict to the pruned U-Net's names.

    Returns ``(pruned_state_dict, dropped_source_keys, naming)``.
    """
    naming = naming or detect_naming(state.keys())
    mapper = {"diffusers": map_diffusers_key, "ldm": map_ldm_key}.get(naming)
    if mapper is None:
        raise ValueError(f"naming must be 'diffusers' or 'ldm', got {naming!r}")
    out: dict[str, Tensor] = {}
    dropped: list[str] = []
    for k, v in state.items():
        name = mapper(k)
        if name is None:
            dropped.append(k)
        elif name in out:
            raise ValueError(f"SD-1.5 weights: two source keys map to {name!r} (second: {k!r})")
        else:
            out[name] = v
    return out, dropped, naming


# ------------------------------------------------------------------------------------------ files
_DIFFUSERS_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                    "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin")


def resolve_sd15_file(path: str | Path) -> tuple[Path, Path | None]:
    """The weights file behind ``path`` (a file, a diffusers ``unet/`` dir or the pipeline dir),
    and the ``config.json`` beside it when there is one."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"SD-1.5 weights not found at {p} (nothing is downloaded: pass a local "
                                f"diffusers folder / unet/diffusion_pytorch_model.safetensors or an LDM "
                                f"v1-5-pruned*.ckpt/.safetensors file)")
    if p.is_file():
        cfg = p.parent / "config.json"
        return p, cfg if cfg.is_file() else None
    for d in (p / "unet", p):
        for name in _DIFFUSERS_FILES:
            if (d / name).is_file():
                cfg = d / "config.json"
                return d / name, cfg if cfg.is_file() else None
    raise FileNotFoundError(f"SD-1.5 weights: no {' / '.join(_DIFFUSERS_FILES)} in {p} or {p / 'unet'}")


def check_unet_config(config_path: Path, unet: PrunedUNet) -> None:
    """Compare a diffusers ``config.json`` with what the pruned U-Net expects (:data:`SD15_CONFIG`)."""
    cfg = json.loads(Path(config_path).read_text())
    c = unet.config
    expected = {"in_channels": c.latent_channels, "out_channels": c.latent_channels, "layers_per_block": 2,
                "attention_head_dim": c.heads}
    for key, want in expected.items():
        if key in cfg and cfg[key] != want:
            raise ValueError(f"SD-1.5 config {config_path}: expected {key}={want}, got {cfg[key]!r}")
    boc = cfg.get("block_out_channels")
    if boc is not None and list(boc[:2]) != list(c.channels):
        raise ValueError(f"SD-1.5 config {config_path}: expected block_out_channels to start with "
                         f"{list(c.channels)}, got {boc!r}")


def read_state_dict(path: Path, keep=None) -> dict[str, Tensor]:
    """Read a ``.safetensors`` or a torch pickle with ``weights_only=True`` (a top-level ``state_dict``
    entry is unwrapped). For safetensors, only keys ``keep(key)`` accepts are read, to spare memory;
    the others map to None so that they are still reported as dropped."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        out = {}
        with safe_open(str(path), framework="pt", device="cpu") as f:
            for k in f.keys():
                out[k] = f.get_tensor(k) if keep is None or keep(k) else None
        return out
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the file named
        raise ValueError(f"could not read {path} with torch.load(weights_only=True) (arbitrary pickles are not "
                         f"loaded; use the .safetensors release of the same weights): {e}") from e
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise ValueError(f"{path}: expected a state dict (str -> tensor), got {type(obj).__name__}")
    return {k: v for k, v in obj.items() if isinstance(v, Tensor)}


def load_sd15_into(unet: PrunedUNet, path: str | Path) -> SDLoadReport:
    """Load local SD-1.5 U-Net weights (diffusers or LDM naming) into ``unet``, strictly.

    Raises ``FileNotFoundError`` for a missing file, ``KeyError`` naming any missing tensors and
    ``ValueError`` for shape mismatches or an unknown layout. The reversible scalars (v, merge and
    help factors) keep their initial values. Returns the :class:`SDLoadReport`.
    """
    file, cfg = resolve_sd15_file(path)
    if cfg is not None:
        check_unet_config(cfg, unet)
    # first pass on names only, so that safetensors files are read selectively
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(file), framework="pt", device="cpu") as f:
            names = list(f.keys())
        naming = detect_naming(names)
        mapper = map_diffusers_key if naming == "diffusers" else map_ldm_key
        raw = read_state_dict(file, keep=lambda k: mapper(k) is not None)
    else:
        raw = read_state_dict(file)
        naming = detect_naming(raw.keys())
    mapped, dropped, naming = remap_sd15_state_dict(raw, naming)
    load_pruned_state_dict(unet, mapped)
    return SDLoadReport(path=str(file), naming=naming, loaded=sorted(mapped), dropped=dropped)


def load_pruned_state_dict(unet: PrunedUNet, mapped: Mapping[str, Tensor]) -> None:
    """Strictly load already-remapped SD tensors into ``unet`` (missing -> KeyError, shape -> ValueError)."""
    expected = unet.sd_parameter_names()
    own = unet.state_dict()
    missing = [k for k in expected if k not in mapped]
    if missing:
        shown = ", ".join(missing[:12]) + (f", … ({len(missing)} in all)" if len(missing) > 12 else "")
        raise KeyError(f"SD-1.5 weights are missing {len(missing)} tensors of the pruned U-Net: {shown}")
    unexpected = [k for k in mapped if k not in own]
    if unexpected:
        raise ValueError(f"SD-1.5 weights: remapped keys the pruned U-Net does not have: {unexpected[:12]}")
    bad = [f"{k}: expected {tuple(own[k].shape)}, got {tuple(mapped[k].shape)}"
           for k in expected if tuple(mapped[k].shape) != tuple(own[k].shape)]
    if bad:
        raise ValueError("SD-1.5 weights have the wrong shapes (not SD-1.5?): " + "; ".join(bad[:8]))
    result = unet.load_state_dict(dict(mapped), strict=False)
    # every SD tensor was given; only the reversible scalars may be absent
    leftover = [k for k in result.missing_keys if k in set(expected)]
    if leftover or result.unexpected_keys:
        raise RuntimeError(f"internal error loading SD-1.5: missing {leftover}, unexpected {result.unexpected_keys}")
