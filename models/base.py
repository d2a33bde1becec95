"""The :class:`Fuser` interface every fusion method implements.

A fuser receives the infrared image and the **Y channel** of the visible image (BT.601 full range,
computed once by the harness) as float32 H×W arrays in [0, 1] and returns the fused Y of the same
shape and range. Colour recombination, I/O and metrics are the harness's job, so every method is
treated identically.

Implementers override :meth:`Fuser.fuse` (and, for PyTorch models, :meth:`TorchFuser.forward`).
Callers use :meth:`Fuser.run` / :meth:`Fuser.run_batch`, which apply the fuser's
:class:`InputContract`: input validation, minimum size, reflect padding to a multiple (bottom/right)
and cropping back, and output validation (shape, finiteness, range).
"""
from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np

from ivif_toolbox import sha256_file


class FuserInputError(ValueError):
    """The inputs handed to a fuser break its contract (shape, range, size)."""


class FuserOutputError(RuntimeError):
    """A fuser returned something that is not a valid fused image (shape, dtype, NaN/Inf, range)."""


@dataclass(frozen=True)
class InputContract:
    """What a fuser expects of its inputs; applied by :meth:`Fuser.run`.

    pad_multiple: inputs are reflect-padded at the bottom/right to a multiple of this and the
        output is cropped back (1 = no padding).
    min_size: the smaller image side must be at least this (after nothing is padded).
    clamp_output: the fuser's documented output policy clamps to [0, 1]; otherwise an output
        outside [0, 1] (beyond ``range_tolerance``) is an error, never silently fixed.
    """

    pad_multiple: int = 1
    min_size: int = 1
    clamp_output: bool = False
    range_tolerance: float = 1e-5


def pad_amounts(height: int, width: int, multiple: int) -> tuple[int, int]:
    """Rows and columns to add at the bottom/right so both sides become multiples of ``multiple``."""
    if multiple <= 1:
        return 0, 0
    return (-height) % multiple, (-width) % multiple


def reflect_pad(x: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad the last two axes at the bottom/right to a multiple of ``multiple``.

    Uses ``symmetric``-free ``reflect`` mode (the edge row is not repeated), as ``torch.nn.functional.pad``
    with ``mode='reflect'`` does; falls back to repeated reflection when the pad exceeds the side.
    """
    ph, pw = pad_amounts(x.shape[-2], x.shape[-1], multiple)
    if ph == 0 and pw == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(x, widths, mode="reflect")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


class Fuser(abc.ABC):
    """Abstract fusion method.

    Class attributes a subclass may set:
        contract: the :class:`InputContract` the harness applies.
        output_policy: one line describing post-processing of the output (e.g. "clamp to [0,1]",
            "per-image min-max stretch"); recorded with every result because it changes metrics.
        framework: shown by ``ls``, in the methods table and in the efficiency table (the one home
            of this fact: ``register_fuser`` reads it from the class).
        reference: the paper the method follows.
    """

    name: str = "fuser"
    contract: InputContract = InputContract()
    output_policy: str = "none (output used as returned)"
    framework: str = "NumPy"
    reference: str = ""
    #: the keyword arguments the fuser was built with, set per instance by
    #: :func:`models.registry.create_fuser` (and the harness for plug-ins); read-only and empty by default
    init_kwargs: Mapping[str, Any] = MappingProxyType({})
    #: path of the weights file the fuser loaded, if any (hashed into the result cache key)
    checkpoint_path: Path | None = None
    #: where the weights come from, shown per leaderboard row: "weight-free", "official checkpoint",
    #: "project-trained", "random init (no checkpoint)", ...
    weights_provenance: str = "weight-free"

    # ---------------------------------------------------------------- to implement
    @abc.abstractmethod
    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        """Fuse one pair: float32 H×W arrays in [0, 1] (already padded per the contract)."""

    def fuse_batch(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        """Fuse a batch (B×H×W each). The default loops over :meth:`fuse`; torch fusers batch."""
        return np.stack([self.fuse(a, b) for a, b in zip(ir, vis_y)])

    def num_parameters(self) -> int:
        """Number of parameters of everything used at inference (0 for classical methods)."""
        return 0

    def to(self, device: str) -> "Fuser":
        """Move to ``device`` ("cpu", "cuda", "cuda:1"); classical fusers only accept CPU."""
        if str(device) != "cpu":
            raise ValueError(f"fuser {self.name!r} runs on the CPU only; got device={device!r}")
        return self

    @property
    def device(self) -> str:
        return "cpu"

    def synchronize(self) -> None:
        """Wait until the work queued on the fuser's device has finished (call before reading a
        clock); nothing to wait for on the CPU."""

    # ---------------------------------------------------------------- provided
    def config(self) -> dict[str, Any]:
        """Everything that identifies this fuser's outputs (used in result cache keys)."""
        return {
            "name": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "kwargs": _jsonable(self.init_kwargs),
            "contract": asdict(self.contract),
            "output_policy": self.output_policy,
            "weights_provenance": self.weights_provenance,
            "checkpoint_sha256": self.checkpoint_hash(),
        }

    def config_hash(self) -> str:
        blob = json.dumps(self.config(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def checkpoint_hash(self) -> str | None:
        if self.checkpoint_path is None:
            return None
        cached = getattr(self, "_ckpt_sha", None)
        if cached is None:
            cached = sha256_file(Path(self.checkpoint_path))
            self._ckpt_sha = cached
        return cached

    def check_inputs(self, ir: np.ndarray, vis_y: np.ndarray) -> None:
        """Raise :class:`FuserInputError` when the pair breaks the contract."""
        for label, arr in (("ir", ir), ("vis_y", vis_y)):
            if not isinstance(arr, np.ndarray):
                raise FuserInputError(f"{self.name}: {label} must be a numpy array, got {type(arr).__name__}")
            if arr.ndim not in (2, 3):
                raise FuserInputError(f"{self.name}: {label} must be H×W (or B×H×W), got shape {arr.shape}")
            if not np.issubdtype(arr.dtype, np.floating):
                raise FuserInputError(f"{self.name}: {label} must be float in [0, 1], got dtype {arr.dtype}")
        if ir.shape != vis_y.shape:
            raise FuserInputError(f"{self.name}: ir shape {ir.shape} != vis_y shape {vis_y.shape}")
        h, w = ir.shape[-2:]
        if min(h, w) < self.contract.min_size:
            raise FuserInputError(
                f"{self.name}: input {h}×{w} is below the minimum side of {self.contract.min_size} pixels")
        for label, arr in (("ir", ir), ("vis_y", vis_y)):
            lo, hi = float(arr.min()), float(arr.max())
            if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 1.0:
                raise FuserInputError(f"{self.name}: {label} must lie in [0, 1], got range [{lo}, {hi}]")

    def _finish(self, out: np.ndarray, shape: Sequence[int], padded: Sequence[int]) -> np.ndarray:
        """Check the output of :meth:`fuse` / :meth:`fuse_batch` for an input of ``shape`` padded to
        ``padded`` (the declared ``pad_multiple``): the output must be real floating or integer and
        exactly ``padded`` (a channel axis of 1 allowed); it is then cropped back to ``shape``."""
        out = np.asarray(out)
        if out.dtype.kind not in "fiu":   # complex, bool, object, strings... are not images
            raise FuserOutputError(f"{self.name}: returned dtype {out.dtype}, expected a real floating or integer "
                                   f"array (float32 in [0, 1])")
        if out.ndim == len(shape) + 1 and out.shape[-3] == 1:  # tolerate a channel axis of 1
            out = out.reshape(out.shape[:-3] + out.shape[-2:])
        if out.shape != tuple(padded):
            pad = "" if tuple(padded) == tuple(shape) else \
                f" (the input {tuple(shape)} padded to a multiple of {self.contract.pad_multiple})"
            raise FuserOutputError(f"{self.name}: returned shape {out.shape}, expected {tuple(padded)}{pad}")
        h, w = shape[-2:]
        out = out[..., :h, :w]
        if not np.all(np.isfinite(out)):
            raise FuserOutputError(f"{self.name}: output contains NaN or Inf")
        out = out.astype(np.float32, copy=False)
        if self.contract.clamp_output:
            return np.clip(out, 0.0, 1.0)
        lo, hi = float(out.min()), float(out.max())
        tol = self.contract.range_tolerance
        if lo < -tol or hi > 1.0 + tol:
            raise FuserOutputError(f"{self.name}: output range [{lo:.4g}, {hi:.4g}] is outside [0, 1] "
                                   f"and the fuser's output policy does not clamp")
        return np.clip(out, 0.0, 1.0)  # only rounding-level excursions (≤ tolerance) reach here

    def _apply(self, ir: np.ndarray, vis_y: np.ndarray, ndim: int, fuse_fn, what: str) -> np.ndarray:
        ir = np.asarray(ir)
        vis_y = np.asarray(vis_y)
        if ir.ndim != ndim:
            raise FuserInputError(f"{self.name}: {what}, got ir shape {ir.shape}")
        self.check_inputs(ir, vis_y)
        m = self.contract.pad_multiple
        ir_p = reflect_pad(ir.astype(np.float32, copy=False), m)
        out = fuse_fn(ir_p, reflect_pad(vis_y.astype(np.float32, copy=False), m))
        return self._finish(out, ir.shape, ir_p.shape)

    def run(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        """Fuse one H×W pair with the contract applied (validate, pad, fuse, crop, check)."""
        return self._apply(ir, vis_y, 2, self.fuse, "run() takes H×W arrays")

    def run_batch(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        """Fuse a B×H×W batch (all pairs the same size) with the contract applied."""
        return self._apply(ir, vis_y, 3, self.fuse_batch, "run_batch() takes B×H×W arrays")

    def describe(self) -> str:
        return f"{self.name}: {type(self).__name__} ({self.framework}); output: {self.output_policy}"


class TorchFuser(Fuser):
    """Base for PyTorch fusers: subclasses build ``self.module`` and implement :meth:`forward`.

    ``forward(ir, vis_y)`` takes float tensors of shape (B, 1, H, W) in [0, 1] on ``self.device``
    (already padded per the contract) and returns (B, 1, H, W). :meth:`fuse` / :meth:`fuse_batch`
    wrap it with ``torch.inference_mode()``, eval mode and the optional autocast ``precision``.
    """

    framework = "PyTorch"

    def __init__(self, module, *, device: str = "cpu", precision: str = "fp32"):
        import torch

        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be 'fp32', 'bf16' or 'fp16', got {precision!r}")
        self.module = module
        self.precision = precision
        self._device = torch.device(device)
        if precision != "fp32" and self._device.type != "cuda":
            raise ValueError(f"precision={precision!r} (autocast) is only supported on CUDA; device is {device!r}")
        self.module.to(self._device)

    @abc.abstractmethod
    def forward(self, ir, vis_y):
        """(B,1,H,W) tensors in [0,1] -> fused (B,1,H,W)."""

    @property
    def device(self) -> str:
        return str(self._device)

    def to(self, device: str) -> "TorchFuser":
        import torch

        self._device = torch.device(device)
        self.module.to(self._device)
        return self

    def num_parameters(self) -> int:
        return int(sum(p.numel() for p in self.module.parameters()))

    def synchronize(self) -> None:
        """``torch.cuda.synchronize`` on a CUDA device (kernels run asynchronously), ``torch.mps``'s
        on Apple GPUs; the CPU computes synchronously."""
        import torch

        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)
        elif self._device.type == "mps":
            torch.mps.synchronize()

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg["precision"] = self.precision
        return cfg

    def fuse_tensor(self, ir, vis_y):
        """Run :meth:`forward` under inference mode / eval / autocast on (B,1,H,W) tensors."""
        import torch

        self.module.eval()
        with torch.inference_mode():
            if self.precision == "fp32":
                out = self.forward(ir, vis_y)
            else:
                dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
                with torch.autocast(device_type=self._device.type, dtype=dtype):
                    out = self.forward(ir, vis_y)
        return out.float()

    def fuse_batch(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        import torch

        t_ir = torch.from_numpy(np.ascontiguousarray(ir, dtype=np.float32))[:, None].to(self._device)
        t_vis = torch.from_numpy(np.ascontiguousarray(vis_y, dtype=np.float32))[:, None].to(self._device)
        out = self.fuse_tensor(t_ir, t_vis)
        return out[:, 0].cpu().numpy()

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return self.fuse_batch(ir[None], vis_y[None])[0]
