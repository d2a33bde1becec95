"""``python -m benchmark train NAME``: build the dataset batches and hand them to the model's trainer.

The flags after NAME are generated from the trainer's config dataclass (``models.training.TrainConfig``
and the model's subclass): ``--epochs``, ``--batch-size``, ``--crop``, ``--lr``, ... plus the model's
own (e.g. DMNet's ``--stage``, RED's ``--steps`` and ``--reversible/--no-reversible``). The harness
adds ``--dataset``, ``--data-root``, ``--out``, ``--resume``, ``--device``, ``--limit``.

Batches: every pair of the dataset contributes one random ``crop``×``crop`` window per epoch (reflect
padding when an image is smaller), with random horizontal/vertical flips; IR grey and VIS Y in [0, 1]
as (B, 1, crop, crop) float32. Under ``torchrun`` the pairs are sharded by rank.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .config import TrainJobConfig
from .errors import ConfigError, UsageError


def _add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per field of the trainer's config dataclass; values stay strings here and are
    coerced to the field types by :meth:`TrainJobConfig.validate` (as a config file's would be)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        help_ = f.metadata.get("help", "")
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if hints.get(f.name, str) is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=f"{help_} (default {default})")
        else:
            parser.add_argument(flag, dest=f.name, default=None, help=f"{help_} (default {default})")


_JOB_OPTIONS = ("dataset", "data_root", "out", "resume", "device", "limit")


def build_train_parser(name: str, config_cls: type) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m benchmark train {name}",
                                description=f"Train {name} ({config_cls.__name__}).")
    p.add_argument("--dataset", required=True, help="dataset name (python -m benchmark ls --datasets)")
    p.add_argument("--data-root", help="folder holding the datasets (default: $FUSION_DATA, else ./data)")
    p.add_argument("--out", required=True, help="output folder (checkpoints, losses.csv, weights)")
    p.add_argument("--resume", action="store_true", default=None, help="continue the run saved in --out")
    p.add_argument("--device", default=None, help="cpu or cuda[:N] (default: cuda when available; under "
                                                   "torchrun cuda:LOCAL_RANK)")
    p.add_argument("--limit", help="use only the first N pairs")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="no progress bar")
    _add_dataclass_flags(p, config_cls)
    return p


def parse_train_args(argv: list[str]) -> TrainJobConfig:
    """``NAME [options]`` of ``python -m benchmark train`` as a :class:`TrainJobConfig`."""
    import models

    if not argv or argv[0].startswith("-"):
        names = ", ".join(models.TRAINERS.names()) or "none registered"
        raise UsageError(f"usage: python -m benchmark train NAME [options]; trainable fusers: {names}")
    name, rest = argv[0], argv[1:]
    config_cls = models.trainer_class(name).config_class       # UnknownNameError -> exit 2 with suggestion
    args = vars(build_train_parser(name, config_cls).parse_args(rest))
    job = {k: args.pop(k) for k in (*_JOB_OPTIONS, "progress") if args.get(k) is not None}
    trainer_args = {k: v for k, v in args.items() if v is not None}
    return TrainJobConfig.from_dict({"fuser": name, **job, "trainer_args": trainer_args}, origin="train options")


class CropBatches:
    """Callable ``(stage, epoch) -> iterator of batches`` over preloaded pairs (see module docstring)."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], *, crop: int, batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1, flips: bool = True):
        if not pairs:
            raise ValueError("training needs at least one pair, got none")
        if crop < 8:
            raise ValueError(f"--crop must be at least 8, got {crop}")
        if batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {batch_size}")
        self.pairs, self.crop, self.batch_size, self.seed = pairs, crop, batch_size, seed
        self.rank, self.world_size, self.flips = rank, world_size, flips

    def __len__(self) -> int:
        n = len(range(self.rank, len(self.pairs), self.world_size))
        return max(1, n // self.batch_size) if n >= self.batch_size else 1

    def _window(self, rng: np.random.Generator, ir: np.ndarray, vis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.crop
        h, w = ir.shape
        if h < c or w < c:  # reflect-pad small images up to the crop size
            ph, pw = max(0, c - h), max(0, c - w)
            mode = "reflect" if ph < h and pw < w else "symmetric"
            ir = np.pad(ir, ((0, ph), (0, pw)), mode=mode)
            vis = np.pad(vis, ((0, ph), (0, pw)), mode=mode)
            h, w = ir.shape
        y = int(rng.integers(0, h - c + 1))
        x = int(rng.integers(0, w - c + 1))
        a, b = ir[y:y + c, x:x + c], vis[y:y + c, x:x + c]
        if self.flips and rng.random() < 0.5:
            a, b = a[:, ::-1], b[:, ::-1]
        if self.flips and rng.random() < 0.5:
            a, b = a[::-1], b[::-1]
        return a, b

    def __call__(self, stage: str, epoch: int) -> Iterator[dict[str, Any]]:
        import torch

        rng = np.random.default_rng([self.seed, epoch, zlib.crc32(stage.encode())])
        order = rng.permutation(len(self.pairs))[self.rank::self.world_size]
        if len(order) < self.batch_size:   # tiny datasets: repeat pairs to fill one batch
            order = np.resize(order, self.batch_size)
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            irs, viss = zip(*(self._window(rng, *self.pairs[i]) for i in order[start:start + self.batch_size]))
            yield {"ir": torch.from_numpy(np.ascontiguousarray(np.stack(irs)[:, None], dtype=np.float32)),
                   "vis": torch.from_numpy(np.ascontiguousarray(np.stack(viss)[:, None], dtype=np.float32))}


def load_training_pairs(dataset: str, data_root: str | None, limit: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(IR, VIS Y) float32 arrays of a dataset, loaded once."""
    from .colour import luma
    from .datasets import get_dataset

    spec = get_dataset(dataset)
    pairs = spec.listing(data_root).pairs
    if limit:
        pairs = pairs[:limit]
    out = []
    for p in pairs:
        lp = p.load()
        out.append((lp.ir, luma(lp.vis)))
    return out


def train_fuser(cfg: TrainJobConfig) -> dict[str, Any]:
    """Train ``cfg.fuser`` on ``cfg.dataset`` (validated here); returns the training summary
    (``models.training.fit``: steps, last losses, weight and state paths)."""
    import models
    import torch
    from models.training import distributed_context, fit

    cfg.validate()
    config = cfg.trainer_config()
    trainer_cls = models.trainer_class(cfg.fuser)
    dist = distributed_context()
    if dist.enabled:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
        device = cfg.device or (f"cuda:{dist.local_rank}" if torch.cuda.is_available() else "cpu")
        if device.startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
    else:
        device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    pairs = load_training_pairs(cfg.dataset, cfg.data_root, cfg.limit)
    batches = CropBatches(pairs, crop=config.crop, batch_size=config.batch_size, seed=config.seed,
                          rank=dist.rank, world_size=dist.world_size)
    trainer = trainer_cls(config, device=device)
    progress = sys.stderr.isatty() if cfg.progress is None else cfg.progress
    try:
        summary = fit(trainer, batches, Path(cfg.out), resume=cfg.resume, progress=progress, dist=dist)
    except FileExistsError as exc:     # the output folder already holds a run: an input conflict
        raise ConfigError(f"out: {exc}") from None
    finally:
        if dist.enabled:
            torch.distributed.destroy_process_group()
    summary.update(fuser=cfg.fuser, dataset=cfg.dataset, pairs=len(pairs), is_main=dist.is_main,
                   losses_csv=str(Path(cfg.out) / "losses.csv"))
    return summary


def format_training(summary: dict[str, Any]) -> str:
    """What ``train`` prints when it is done (the main process only)."""
    if not summary["is_main"]:
        return ""
    losses = ", ".join(f"{k}={v:.4g}" for k, v in summary["last_losses"].items())
    name = summary["fuser"]
    return (f"trained {name} on {summary['dataset']} ({summary['pairs']} pairs) for {summary['steps']} steps; "
            f"last: {losses}\n"
            f"weights: {summary['weights']}  (use: python -m benchmark run --fusers {name} "
            f"--checkpoint {summary['weights']})\n"
            f"resume state: {summary['state']}; loss log: {summary['losses_csv']}")
