"""The ``dmnet`` and ``dmnet-tiny`` fusers (registered lazily by :mod:`models.catalog`)."""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..base import InputContract, TorchFuser
from .checkpoint import load_dmnet_weights, sha256_files
from .model import CONFIGS, build_dmnet

__all__ = ["DMNetFuser"]  # registry metadata (reference, parameter counts): models/catalog.py


class DMNetFuser(TorchFuser):
    """DMNet behind the :class:`~models.base.Fuser` interface.

    Args:
        checkpoint: a project file (``.safetensors`` written by ``benchmark train``, or a
            ``torch.save`` dict), the official ``dmnet.pth`` (its ``*_gen.pth`` is looked up beside
            it) or the official ``weights/`` folder. None: random init, with a ``UserWarning``.
        device, precision: see :class:`~models.base.TorchFuser` (bf16/fp16 autocast on CUDA only).
        seed: seeds the diffusion feature noise (one generator per image, so a result depends only on
            the image and the seed, not on the batch or the device) and the random init of modules
            the checkpoint does not hold.
        stretch: the released test script's per-image min–max stretch of the output (off by default;
            recorded in :attr:`output_policy`).
        variant: ``"dmnet"`` or ``"tiny"`` (set by the registry).
        diffusion_checkpoint: the official ``<name>_gen.pth`` when it is not beside ``dmnet.pth``.
        dm_input: ``"release"`` or ``"concat"``; must match how the weights were trained.
    """

    contract = InputContract(pad_multiple=16, min_size=1, clamp_output=True)

    def __init__(self, checkpoint: str | Path | None = None, device: str = "cpu", precision: str = "fp32",
                 seed: int = 0, stretch: bool = False, variant: str = "dmnet",
                 diffusion_checkpoint: str | Path | None = None, dm_input: str = "release"):
        if variant not in CONFIGS:
            raise ValueError(f"variant must be one of {sorted(CONFIGS)}, got {variant!r}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if diffusion_checkpoint is not None and checkpoint is None:
            raise ValueError("diffusion_checkpoint needs checkpoint= (the official dmnet.pth) as well")
        config = replace(CONFIGS[variant], dm_input=dm_input)
        label = "dmnet" if variant == "dmnet" else f"dmnet-{variant}"
        self.seed = int(seed)
        self.stretch = bool(stretch)
        self.variant = variant
        self.load_report = None
        self.checkpoint_paths: list[Path] = []
        if checkpoint is None:
            model = build_dmnet(config, seed=self.seed)
            self.weights_provenance = "random init (no checkpoint)"
            warnings.warn(f"{label}: no checkpoint given, the weights are random (seed {self.seed}): the outputs are "
                          f"meaningless as fusion results (use it for smoke tests and timing only)",
                          UserWarning, stacklevel=3)
        else:
            model = build_dmnet(config, seed=None)  # every tensor is loaded or seeded below
            self.load_report = load_dmnet_weights(model, checkpoint, diffusion_checkpoint, seed=self.seed)
            official = self.load_report.kind == "official" or self.load_report.metadata.get("source") == "official"
            self.weights_provenance = "official checkpoint" if official else "project checkpoint"
            self.checkpoint_paths = list(self.load_report.files)
            self.checkpoint_path = self.checkpoint_paths[0]
        super().__init__(model, device=device, precision=precision)
        self.output_policy = (
            "per-image min-max stretch to [0, 1] after cropping the padding (released test script), then clamp"
            if self.stretch else "clamp to [0, 1] (sigmoid output with a residual to VIS Y; no stretch)")

    # ------------------------------------------------------------------ model
    def forward(self, ir, vis_y):
        noise = self.module.draw_noise(ir.shape[0], tuple(ir.shape[-2:]), self.seed)
        return self.module(ir, vis_y, noise)

    # ------------------------------------------------------------------ stretch (after the crop)
    def _stretch(self, out: np.ndarray) -> np.ndarray:
        flat = out.reshape(-1, out.shape[-2] * out.shape[-1]) if out.ndim == 3 else out.reshape(1, -1)
        lo = flat.min(axis=1, keepdims=True)
        hi = flat.max(axis=1, keepdims=True)
        flat_range = hi - lo
        if np.any(flat_range <= 0):
            warnings.warn(f"{self.name}: constant output; the min-max stretch is undefined and was not applied "
                          f"to {int(np.sum(flat_range <= 0))} image(s)", UserWarning, stacklevel=3)
        scaled = np.where(flat_range > 0, (flat - lo) / np.where(flat_range > 0, flat_range, 1.0), flat)
        return scaled.reshape(out.shape).astype(np.float32)

    def run(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        out = super().run(ir, vis_y)
        return self._stretch(out) if self.stretch else out

    def run_batch(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        out = super().run_batch(ir, vis_y)
        return self._stretch(out) if self.stretch else out

    # ------------------------------------------------------------------ provenance
    def checkpoint_hash(self) -> str | None:
        if not self.checkpoint_paths:
            return None
        if getattr(self, "_ckpt_sha", None) is None:
            self._ckpt_sha = sha256_files(self.checkpoint_paths)
        return self._ckpt_sha

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        rep = self.load_report
        cfg["dmnet"] = {
            "variant": self.variant, "seed": self.seed, "stretch": self.stretch,
            "model_config": self.module.config.to_dict(),
            "checkpoint_files": [str(p) for p in self.checkpoint_paths],
            "seeded_random_groups": (rep.seeded_groups if rep is not None else "all"),
            "checkpoint_metadata": (rep.metadata if rep is not None else {}),
        }
        return cfg
