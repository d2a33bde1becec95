"""The ``red`` / ``red-tiny`` fusers (Xu et al., "Reversible Efficient Diffusion for Image Fusion",
arXiv 2601.20260). No official code or weights exist; see ``docs/red.md`` for what is reconstructed."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from ..base import InputContract, TorchFuser
from ..catalog import RED_REFERENCE
from ..weights_files import check_weights_file
from .model import RED, build_red
from .sd15 import SDLoadReport, load_sd15_into

log = logging.getLogger(__name__)


#: inference-mode feed-forward chunk (tokens); bounds the 8C-wide GEGLU activation at 640×480 and up
DEFAULT_FF_CHUNK = 16384


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """A project single-file checkpoint: ``.safetensors`` or a torch file read with ``weights_only=True``
    (a training state ``train_state.pt`` is accepted: its ``model`` entry is used)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"RED checkpoint not found: {p}")
    check_weights_file(p)               # empty, truncated or not a weights file: say so, naming the file
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p))
    obj = torch.load(p, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "fuser" in obj:
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{p}: expected a state dict of tensors, got {type(obj).__name__}")
    return obj


def load_red_checkpoint(model: RED, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Strictly load a project state dict, with clear errors for a T or coupling mismatch."""
    a = state.get("alpha_logit")
    if a is not None and a.shape != model.alpha_logit.shape:
        raise ValueError(f"{source} was trained with T={a.numel()} steps, got steps={model.steps}; "
                         f"pass steps={a.numel()}")
    if ("outer_v" in state) != (model.coupling == "idm"):
        found = "idm" if "outer_v" in state else "paper"
        raise ValueError(f"{source} uses coupling={found!r}, got coupling={model.coupling!r}")
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ValueError(f"{source} does not match this RED model: missing {missing[:8]} "
                         f"({len(missing)}), unexpected {unexpected[:8]} ({len(unexpected)}) "
                         f"(wrong variant, e.g. a red-tiny checkpoint for red?)")
    bad = [f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
           if tuple(state[k].shape) != tuple(v.shape)]
    if bad:
        raise ValueError(f"{source} has wrong shapes for this RED variant: {bad[:6]}")
    model.load_state_dict(state, strict=True)


class RedFuser(TorchFuser):
    """RED fusion of IR and VIS-Y with T reversible DDIM layers over a pruned SD-1.5 U-Net.

    Args:
        checkpoint: project checkpoint (``red.safetensors`` written by ``benchmark train red``).
        sd_weights: local SD-1.5 U-Net weights to initialise from (diffusers or LDM naming); the
            fusion scalars (w, schedule, couplings) keep their initial values. Exclusive with
            ``checkpoint``.
        steps: T (U-Net evaluations per pair), default 2 as in the paper.
        variant: "full" (SD-1.5 widths) or "tiny" (reduced widths, for tests).
        coupling: outer coupling, "paper" (unit) or "idm" (learnable v).
        ff_chunk_tokens: feed-forward chunk at inference (memory only; 0 = off).
    """

    contract = InputContract(pad_multiple=4, min_size=1, clamp_output=True)
    output_policy = "clamp to [0, 1]"
    reference = RED_REFERENCE  # registry metadata: models/catalog.py

    def __init__(self, checkpoint: str | Path | None = None, sd_weights: str | Path | None = None, steps: int = 2,
                 device: str = "cpu", precision: str = "fp32", seed: int = 0, *, variant: str = "full",
                 coupling: str = "paper", ff_chunk_tokens: int = DEFAULT_FF_CHUNK):
        if checkpoint is not None and sd_weights is not None:
            raise ValueError("RED: pass either checkpoint= (a trained project checkpoint, which already "
                             "contains the U-Net) or sd_weights= (SD-1.5 initialisation), not both")
        self.name = "red" if variant == "full" else f"red-{variant}"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = build_red(variant, steps=steps, coupling=coupling, memory_saving="none")
        self.sd_report: SDLoadReport | None = None
        if checkpoint is not None:
            load_red_checkpoint(model, read_checkpoint(checkpoint), source=str(checkpoint))
            self.checkpoint_path = Path(checkpoint).expanduser()
            self.weights_provenance = "project checkpoint"
        elif sd_weights is not None:
            self.sd_report = load_sd15_into(model.unet, sd_weights)
            log.info(self.sd_report.summary())
            self.checkpoint_path = Path(self.sd_report.path)
            self.weights_provenance = "SD-1.5 init, untrained fusion layers"
        else:
            self.weights_provenance = "random init (no checkpoint)"
            warnings.warn(f"{self.name}: no checkpoint and no SD-1.5 weights given; the network is randomly "
                          f"initialised (seed {seed}) and its output is not a meaningful fusion",
                          UserWarning, stacklevel=2)
        model.unet.set_ff_chunking(ff_chunk_tokens)
        super().__init__(model, device=device, precision=precision)
        self.variant = variant

    def forward(self, ir, vis_y):
        return self.module(ir, vis_y).clamp(0.0, 1.0)


__all__ = ["RedFuser", "read_checkpoint", "load_red_checkpoint"]
