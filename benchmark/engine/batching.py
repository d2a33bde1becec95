"""Batched fusion: consecutive same-size pairs through :meth:`models.Fuser.run_batch` on the fuser's device.

The harness's colour handling is the same as for one pair (:mod:`benchmark.colour`): the fuser gets
the IR image and the visible Y channel, the fused Y is recombined with the visible chroma and
rounded to 8 bits. A batch of one takes :meth:`~models.Fuser.run`, exactly the per-pair path.

Timing: the device is synchronised (:meth:`~models.Fuser.synchronize`, ``torch.cuda.synchronize``
on CUDA) before the clock starts and before it stops, so queued GPU work is counted; the latency of
each pair of a batch is the batch's latency divided by the batch size (recorded with the batch
size, so a per-pair figure is never mistaken for a batch-1 latency).

Isolation: when a batch fails (one pair's output is invalid, the device runs out of memory), its
pairs are fused one at a time, so each pair gets its own result or error; the batch's error is
kept in each pair's ``note`` (never dropped silently).

Failures: an exception raised while fusing a pair, ``SystemExit`` included (a plug-in calling
``sys.exit()``), fails that pair, with a message naming the file:line of the raising frame and the
full traceback in :attr:`FusedPair.traceback`; ``KeyboardInterrupt`` still stops the run.

Identity: on the CPU, the batched and per-pair outputs are identical for the fusers tested (a numpy
baseline and a small convolutional network, ``tests/benchmark/test_engine_batching.py``). On CUDA,
cuDNN may pick another convolution algorithm for another batch size, so float outputs can differ in
the last bits and an 8-bit value at a rounding boundary by one; the batch size is therefore recorded
with every result.
"""
from __future__ import annotations

import os
import time
import traceback as _traceback
from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Iterator, Protocol, Sequence

import numpy as np

from ..colour import luma, recombine, unit_to_uint8
from .loader import group_batches


class FusableImages(Protocol):
    """What batched fusion needs of a loaded pair (:class:`benchmark.datasets.LoadedPair` has it)."""

    ir: np.ndarray    # float32 H×W in [0, 1]
    vis: np.ndarray   # float32 H×W×3 or H×W in [0, 1]


@dataclass(frozen=True)
class FusedPair:
    """The fusion result of one pair.

    image: the 8-bit image to save (H×W×3 for a colour visible image, else H×W); None on failure.
    latency_s: seconds of fusion attributed to this pair (batch latency / ``batch_size``).
    batch_size: how many pairs were fused in the same call (1 = alone).
    error: ``"Type: message"`` when this pair could not be fused.
    note: why a batch was split into single pairs (the batch's error), else None.
    traceback: the full traceback of ``error`` (for the pair's record), else None.
    """

    image: np.ndarray | None
    latency_s: float | None
    batch_size: int
    error: str | None = None
    note: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


#: what fails one pair (a plug-in's ``sys.exit()`` too); ``KeyboardInterrupt`` is not caught
PAIR_FAILURES = (Exception, SystemExit)


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """``("Type: message (at file.py:LINE in function)", full traceback)``; the frame is the one that
    raised (the innermost)."""
    msg = f"{type(exc).__name__}: {exc}"
    if exc.__traceback__ is not None:
        frame = _traceback.extract_tb(exc.__traceback__)[-1]
        msg += f" (at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})"
    return msg, "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))


def _timed(fuser: Any, call, ir: np.ndarray, vis_y: np.ndarray) -> tuple[np.ndarray, float]:
    fuser.synchronize()
    t0 = time.perf_counter()
    out = call(ir, vis_y)
    fuser.synchronize()
    return out, time.perf_counter() - t0


def fuse_one(fuser: Any, pair: FusableImages) -> FusedPair:
    """Fuse one pair with :meth:`~models.Fuser.run` (the per-pair path); errors become ``error``."""
    try:
        fused_y, latency = _timed(fuser, fuser.run, pair.ir, luma(pair.vis))
        return FusedPair(unit_to_uint8(recombine(fused_y, pair.vis)), latency, 1)
    except PAIR_FAILURES as exc:  # a fuser failing on one pair: that pair's failure
        msg, tb = describe_failure(exc)
        return FusedPair(None, None, 1, error=msg, traceback=tb)


def fuse_batch(fuser: Any, pairs: Sequence[FusableImages]) -> list[FusedPair]:
    """Fuse same-size pairs in one :meth:`~models.Fuser.run_batch` call; one :class:`FusedPair` each.

    A batch of one is :func:`fuse_one`. Raises ValueError when the pairs differ in size.
    """
    if not pairs:
        return []
    if len(pairs) == 1:
        return [fuse_one(fuser, pairs[0])]
    shapes = {p.ir.shape for p in pairs}
    if len(shapes) != 1:
        raise ValueError(f"fuse_batch: all pairs of a batch must have the same size, got IR shapes {sorted(shapes)}")
    try:
        ir = np.stack([p.ir for p in pairs])
        vis_y = np.stack([luma(p.vis) for p in pairs])
        fused_y, latency = _timed(fuser, fuser.run_batch, ir, vis_y)
    except PAIR_FAILURES as exc:  # one bad pair or a device error: fuse one by one, each gets its own outcome
        note = f"batch of {len(pairs)} failed ({describe_failure(exc)[0]}); fused one pair at a time"
        return [FusedPair(r.image, r.latency_s, r.batch_size, r.error, note, r.traceback)
                for r in (fuse_one(fuser, p) for p in pairs)]
    per_pair = latency / len(pairs)
    return [FusedPair(unit_to_uint8(recombine(fused_y[i], p.vis)), per_pair, len(pairs)) for i, p in enumerate(pairs)]


def fuse_stream(fuser: Any, items: Iterable[tuple[Hashable, FusableImages | None]], *,
                batch_size: int = 1) -> Iterator[tuple[Hashable, FusableImages | None, FusedPair | None]]:
    """Fuse a stream of ``(tag, loaded pair)`` in batches of consecutive same-size pairs; yield
    ``(tag, pair, FusedPair)`` in input order. An item whose pair is None (it failed to load) passes
    through as ``(tag, None, None)``."""
    def size(item) -> Hashable | None:
        return None if item[1] is None else tuple(item[1].ir.shape)

    for group in group_batches(items, batch_size=batch_size, key=size):
        if group[0][1] is None:
            yield group[0][0], None, None
            continue
        for (tag, pair), fused in zip(group, fuse_batch(fuser, [p for _, p in group])):
            yield tag, pair, fused
