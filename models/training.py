"""Generic training loop shared by the trainable fusers (DMNet, RED).

Layering: this module takes *batches*; it never builds datasets (``benchmark train`` does that and
hands :func:`fit` a callable that yields batches for an epoch).

A model plugs in by subclassing :class:`Trainer`:

* ``config_class``: a dataclass derived from :class:`TrainConfig` whose extra fields become
  ``--flags`` of ``python -m benchmark train NAME`` (``field(metadata={"help": ...})``);
* :meth:`Trainer.stages` (default one stage ``"train"``) and :meth:`Trainer.epochs_for`;
* :meth:`Trainer.build_loss_module`: an ``nn.Module`` whose ``forward(ir, vis)`` returns a dict of
  scalar losses with the total under ``"loss"`` (this is what DDP wraps);
* :meth:`Trainer.configure_optimizer`: optimiser and optional per-epoch LR scheduler for a stage;
* :meth:`Trainer.fuser_state_dict`: the weights the matching fuser loads with ``checkpoint=``.

Batches are dicts ``{"ir": (B,1,h,w), "vis": (B,1,h,w)}`` of float32 tensors in [0, 1] (VIS is the
Y channel), already cropped and augmented by the caller.

Outputs in ``out_dir``: ``train_state.pt`` (everything needed for ``--resume``; loadable with
``torch.load(weights_only=True)``), ``<fuser>.safetensors`` (fuser weights, rewritten every epoch),
``losses.csv`` (one row per optimiser step) and ``train_config.json``. All writes are atomic.
"""
from __future__ import annotations

import abc
import csv
import dataclasses
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import nn

from ivif_toolbox import atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text


@dataclass
class TrainConfig:
    """Options common to every trainer (each becomes a ``benchmark train`` flag)."""

    epochs: int = field(default=1, metadata={"help": "epochs per stage"})
    batch_size: int = field(default=8, metadata={"help": "pairs per optimiser step (per process)"})
    crop: int = field(default=128, metadata={"help": "side of the random square training crops"})
    lr: float = field(default=1e-4, metadata={"help": "Adam learning rate"})
    seed: int = field(default=0, metadata={"help": "seed of model init, crops and diffusion noise"})
    amp: bool = field(default=True, metadata={"help": "mixed precision (fp16 autocast + GradScaler); CUDA only"})
    grad_clip: float = field(default=0.0, metadata={"help": "clip the gradient norm to this (0 = off)"})
    steps_per_epoch: int = field(default=0, metadata={"help": "cap on optimiser steps per epoch (0 = full pass)"})


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def distributed_context() -> DistributedContext:
    """Read the ``torchrun`` environment (RANK, WORLD_SIZE, LOCAL_RANK); single process otherwise."""
    return DistributedContext(rank=int(os.environ.get("RANK", 0)),
                              world_size=int(os.environ.get("WORLD_SIZE", 1)),
                              local_rank=int(os.environ.get("LOCAL_RANK", 0)))


class Trainer(abc.ABC):
    """Model-specific training recipe; see the module docstring."""

    #: registry name of the fuser whose weights this trainer produces
    fuser_name: str = ""
    config_class: type[TrainConfig] = TrainConfig

    def __init__(self, config: TrainConfig, device: str = "cpu"):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.device = torch.device(device)
        #: the network the fuser uses; subclasses set it in __init__
        self.model: nn.Module

    def stages(self) -> list[str]:
        return ["train"]

    def epochs_for(self, stage: str) -> int:
        return self.config.epochs

    @abc.abstractmethod
    def build_loss_module(self, stage: str) -> nn.Module:
        """Module whose ``forward(ir, vis)`` returns ``{"loss": total, "<part>": value, ...}``."""

    def configure_optimizer(self, stage: str, params: Iterable[nn.Parameter]):
        """Optimiser and optional per-epoch scheduler; default Adam(lr) without a scheduler."""
        return torch.optim.Adam(params, lr=self.config.lr), None

    def fuser_state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def on_stage_start(self, stage: str) -> None:
        """Hook (e.g. freeze modules for a stage)."""


# ------------------------------------------------------------------------------------------ utils
def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through the project's atomic writer."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


def atomic_save_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """A safetensors file, written through the project's atomic writer."""
    from safetensors.torch import save

    atomic_write_bytes(path, save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata))


def _csv_text(columns: list[str] | None, rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO(newline="")
    if columns:
        w = csv.DictWriter(buf, columns)
        w.writeheader()
        w.writerows(rows)
    return buf.getvalue()


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


class _LossLog:
    """``losses.csv`` writer that survives resume (rows past the resumed step are dropped)."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = path
        self.columns: list[str] | None = None
        rows: list[dict[str, str]] = []
        if resume_step is not None and path.exists():
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                self.columns = reader.fieldnames and list(reader.fieldnames)
                rows = [r for r in reader if int(r["step"]) <= resume_step]
        atomic_write_text(path, _csv_text(self.columns, rows))

    def write(self, row: dict[str, Any]) -> None:
        if self.columns is None or not set(row) <= set(self.columns):
            # first row, or a stage that logs other loss parts: widen the header, keep the rows
            old: list[dict[str, str]] = []
            if self.columns is not None and self.path.exists():
                with open(self.path, newline="") as f:
                    old = list(csv.DictReader(f))
            self.columns = list(self.columns or []) + [k for k in row if k not in (self.columns or [])]
            atomic_write_text(self.path, _csv_text(self.columns, old))
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(row)


def fit(trainer: Trainer, batches: Callable[[str, int], Iterable[dict[str, torch.Tensor]]], out_dir: str | Path,
        *, resume: bool = False, progress: bool = True, dist: DistributedContext | None = None) -> dict[str, Any]:
    """Train ``trainer`` over its stages; ``batches(stage, epoch)`` yields the epoch's batches.

    Returns a summary dict (final losses, steps, paths). Under ``torchrun`` (WORLD_SIZE > 1) the loss
    module is wrapped in ``DistributedDataParallel``; the caller shards the batches by rank, and only
    rank 0 writes files.
    """
    from tqdm.auto import tqdm

    cfg = trainer.config
    dist = dist or distributed_context()
    out = Path(out_dir)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    state_path = out / "train_state.pt"
    weights_path = out / f"{trainer.fuser_name}.safetensors"

    start_stage, start_epoch, step = 0, 0, 0
    saved = None
    if resume:
        if not state_path.exists():
            raise FileNotFoundError(f"--resume: no training state at {state_path}; start without --resume")
        saved = torch.load(state_path, map_location="cpu", weights_only=True)
        if saved["fuser"] != trainer.fuser_name:
            raise ValueError(f"--resume: {state_path} belongs to {saved['fuser']!r}, not {trainer.fuser_name!r}")
        trainer.model.load_state_dict(saved["model"])
        start_stage, start_epoch, step = saved["stage_index"], saved["epoch"], saved["step"]
    elif dist.is_main and state_path.exists():
        raise FileExistsError(f"{out} already holds a training run ({state_path.name}); pass --resume to "
                              f"continue it or choose another --out")

    use_amp = bool(cfg.amp) and trainer.device.type == "cuda"
    log = _LossLog(out / "losses.csv", step if resume else None) if dist.is_main else None
    if dist.is_main:
        atomic_write_json(out / "train_config.json",
                          {"fuser": trainer.fuser_name, "trainer": type(trainer).__name__, "config": config_to_dict(cfg),
                           "stages": trainer.stages(), "amp": use_amp, "world_size": dist.world_size})

    stages = trainer.stages()
    last: dict[str, float] = {}
    for si in range(start_stage, len(stages)):
        stage = stages[si]
        trainer.on_stage_start(stage)
        loss_module = trainer.build_loss_module(stage).to(trainer.device)
        wrapped: nn.Module = loss_module
        if dist.enabled:
            wrapped = nn.parallel.DistributedDataParallel(
                loss_module, device_ids=[trainer.device.index] if trainer.device.type == "cuda" else None,
                find_unused_parameters=True)
        params = [p for p in loss_module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError(f"{trainer.fuser_name} stage {stage!r}: no trainable parameters")
        optimizer, scheduler = trainer.configure_optimizer(stage, params)
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        first_epoch = 0
        if saved is not None and si == start_stage:
            if saved["optimizer"]:
                optimizer.load_state_dict(saved["optimizer"])
            if scheduler is not None and saved.get("scheduler") is not None:
                scheduler.load_state_dict(saved["scheduler"])
            if saved.get("scaler"):
                scaler.load_state_dict(saved["scaler"])
            torch.set_rng_state(saved["rng"])
            first_epoch = start_epoch
        n_epochs = trainer.epochs_for(stage)
        for epoch in range(first_epoch, n_epochs):
            wrapped.train()
            running: dict[str, float] = {}
            n_seen = 0
            bar = tqdm(batches(stage, epoch), desc=f"{trainer.fuser_name} {stage} epoch {epoch + 1}/{n_epochs}",
                       disable=not (progress and dist.is_main), unit="batch", dynamic_ncols=True)
            for bi, batch in enumerate(bar):
                if cfg.steps_per_epoch and bi >= cfg.steps_per_epoch:
                    break
                ir = batch["ir"].to(trainer.device, non_blocking=True)
                vis = batch["vis"].to(trainer.device, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device_type=trainer.device.type, dtype=torch.float16, enabled=use_amp):
                    losses = wrapped(ir, vis)
                total = losses["loss"]
                if not torch.isfinite(total):
                    raise FloatingPointError(f"{trainer.fuser_name} {stage} epoch {epoch + 1} step {step + 1}: "
                                             f"non-finite loss {float(total)} ({ {k: float(v) for k, v in losses.items()} })")
                scaler.scale(total).backward()
                if cfg.grad_clip and cfg.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                step += 1
                n_seen += 1
                vals = {k: float(v.detach()) for k, v in losses.items()}
                for k, v in vals.items():
                    running[k] = running.get(k, 0.0) + (v - running.get(k, 0.0)) / n_seen
                last = vals
                if log is not None:
                    log.write({"step": step, "stage": stage, "epoch": epoch + 1,
                               "lr": optimizer.param_groups[0]["lr"], **vals})
                bar.set_postfix({k: f"{v:.4g}" for k, v in running.items()})
            bar.close()
            if n_seen == 0:
                raise RuntimeError(f"{trainer.fuser_name} {stage} epoch {epoch + 1}: the data yielded no batch "
                                   f"(dataset smaller than the batch size?)")
            if scheduler is not None:
                scheduler.step()
            if dist.is_main:
                atomic_save_safetensors(trainer.fuser_state_dict(), weights_path,
                                        metadata={"fuser": trainer.fuser_name, "stage": stage,
                                                  "epoch": str(epoch + 1), "step": str(step)})
                atomic_torch_save({
                    "fuser": trainer.fuser_name, "model": trainer.model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "scaler": scaler.state_dict() if use_amp else {},
                    "rng": torch.get_rng_state(), "stage_index": si, "epoch": epoch + 1,
                    "step": step, "config": json.dumps(config_to_dict(cfg)),
                }, state_path)
        saved = None
    return {"steps": step, "last_losses": last, "weights": str(weights_path), "state": str(state_path),
            "finite": all(math.isfinite(v) for v in last.values())}
