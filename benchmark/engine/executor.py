"""The executor interface: submit picklable per-item work, get results back as items complete.

Every executor (``serial``, ``local``, ``dask``, ``slurm``) offers the same calls:

* ``submit(key, fn, *args, **kwargs)`` — schedule ``fn(*args, **kwargs)`` for the item ``key``
  (any hashable, unique within the executor's life). When ``max_in_flight`` items are already
  computing or queued at the workers, it first waits for one to complete (backpressure; the
  finished result is kept until :meth:`Executor.completed` yields it);
* ``completed()`` — yield an :class:`ItemResult` for every submitted item as it completes, until
  none is in flight;
* ``map_unordered(fn, items, **common_kwargs)`` — the two combined: pull ``(key, args)`` from an
  iterable only while fewer than ``max_in_flight`` pulled items have not been yielded back, yield
  results as they complete (so a producer generator, e.g. a fuser, runs while the workers compute).

Each item's result is delivered exactly once (a result arriving again for a delivered key, e.g.
after a scheduler re-ran a task, is dropped and counted in ``duplicates_dropped``). A function that
raises is that item's failure (``ItemResult.error``), never the run's; a worker process that dies
is handled by each executor (see :mod:`.local` and :mod:`.cluster`) and, when the item itself is
the cause, reported as that item's failure. Results do not depend on the executor: the same
function runs on the same inputs.

``fn`` and its arguments must be picklable for the process executors (a module-level function);
the worker-side wrapper :func:`call_item` lives here, in a module that imports only the standard
library, so a worker process does not import torch, the fusers or dask to run it.
"""
from __future__ import annotations

import abc
import os
import socket
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Hashable, Iterable, Iterator

#: Environment variables that size the thread pools of BLAS/OpenMP libraries; set to the threads per
#: worker (1) in every worker process, before numpy is imported, so N workers use N cores, not N².
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """``{VAR: str(threads)}`` for every variable of :data:`THREAD_ENV_VARS`."""
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads per worker must be an integer >= 1, got {threads!r}")
    return {v: str(threads) for v in THREAD_ENV_VARS}


class ExecutorError(RuntimeError):
    """The executor itself failed (cannot start, scheduler lost, used after close); not one item."""


class ExecutorUnavailableError(ExecutorError, ImportError):
    """An executor whose optional dependencies are not installed; the message says what to install."""


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one submitted item.

    value: what the function returned (``None`` when it failed).
    error: ``"ExceptionType: message"`` when the item failed (the function raised, or its worker
        died while computing it and the executor established that the item is the cause), else None.
    worker: where it ran (``host:pid`` of the process; for dask also the worker address).
    elapsed_s: wall time of the function call inside the worker (seconds; None if it never ran).
    cpu_s: CPU time of the calling thread during the call (seconds; ``time.thread_time``).
    started_at: when the call started (``time.time()`` of the worker's host; for timelines).
    """

    key: Hashable
    value: Any = None
    error: str | None = None
    worker: str | None = None
    elapsed_s: float | None = None
    cpu_s: float | None = None
    started_at: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_exception(exc: BaseException) -> str:
    """``"Type: message"``; for an unexpected type (not ValueError/RuntimeError) the innermost frame too."""
    msg = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, (ValueError, RuntimeError)) and exc.__traceback__ is not None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        msg += f" (at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})"
    return msg


def _limit_torch_threads(threads: int) -> None:
    """One torch intra-op thread per worker when the task has imported torch (it is never imported here)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def call_item(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any],
              torch_threads: int | None) -> tuple[Any, str | None, str, float, float, float]:
    """Worker side: run ``fn``; return ``(value, error, worker, elapsed_s, cpu_s, started_at)``; an exception
    of the function is returned as ``error`` (so a scheduler does not retry a deterministic failure).

    ``torch_threads``: when not None, torch's intra-op threads are set to it before and after the call
    if the task uses torch (process executors pass 1; the serial executor leaves the caller's setting).
    """
    if torch_threads is not None:
        _limit_torch_threads(torch_threads)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started, t0, c0 = time.time(), time.perf_counter(), time.thread_time()
    try:
        value, error = fn(*args, **kwargs), None
    except Exception as exc:  # the item's failure, reported with its message; the run goes on
        value, error = None, describe_exception(exc)
    elapsed, cpu = time.perf_counter() - t0, time.thread_time() - c0
    if torch_threads is not None:
        _limit_torch_threads(torch_threads)   # a task that imported torch during the call
    return value, error, worker, elapsed, cpu, started


def result_from_call(key: Hashable, packed: tuple) -> ItemResult:
    """The :class:`ItemResult` of item ``key`` from what :func:`call_item` returned."""
    return ItemResult(key, *packed)


class Executor(abc.ABC):
    """Bounded, unordered, exactly-once execution of per-item work (see the module docstring).

    Subclasses implement :meth:`_start` (begin one item) and :meth:`_wait` (block until at least
    one item finished; return the finished items' results), :attr:`workers` and :meth:`_shutdown`.
    """

    kind: ClassVar[str] = ""

    def __init__(self, *, max_in_flight: int | None = None):
        if max_in_flight is not None and (not isinstance(max_in_flight, int) or max_in_flight < 1):
            raise ValueError(f"max_in_flight must be an integer >= 1, got {max_in_flight!r}")
        self._max_in_flight = max_in_flight
        self._pending: set[Hashable] = set()
        self._ready: deque[ItemResult] = deque()
        self._delivered: set[Hashable] = set()
        self._closed = False
        self.submitted = 0
        self.duplicates_dropped = 0

    # ---------------------------------------------------------------- to implement
    @property
    @abc.abstractmethod
    def workers(self) -> int:
        """Number of items that can compute at the same time (worker processes × threads)."""

    @abc.abstractmethod
    def _start(self, key: Hashable, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
        """Begin computing one item."""

    @abc.abstractmethod
    def _wait(self) -> list[ItemResult]:
        """Block until at least one started item is finished; return the finished items' results."""

    @abc.abstractmethod
    def _shutdown(self, *, cancel: bool) -> None:
        """Release the workers; ``cancel``: drop the items still in flight (an interrupted run)."""

    # ---------------------------------------------------------------- provided
    @property
    def max_in_flight(self) -> int:
        """Items submitted but not yet delivered, at most (default: twice :attr:`workers`, at least 2)."""
        if self._max_in_flight is not None:
            return self._max_in_flight
        return max(2, 2 * self.workers)

    @property
    def in_flight(self) -> int:
        """Items submitted whose results have not been collected from the workers yet."""
        return len(self._pending)

    def _check_open(self) -> None:
        if self._closed:
            raise ExecutorError(f"the {self.kind} executor is closed")

    def _collect(self) -> None:
        for res in self._wait():
            if res.key in self._delivered or res.key not in self._pending:
                self.duplicates_dropped += 1   # a re-run task reporting again: its result is already in
                continue
            self._pending.discard(res.key)
            self._delivered.add(res.key)
            self._ready.append(res)

    def submit(self, key: Hashable, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Schedule ``fn(*args, **kwargs)`` for item ``key``; waits first while the executor is full."""
        self._check_open()
        if key in self._pending or key in self._delivered:
            raise ValueError(f"item key {key!r} was already submitted to this executor; keys must be unique")
        while len(self._pending) >= self.max_in_flight:
            self._collect()
        self._pending.add(key)
        self.submitted += 1
        self._start(key, fn, args, kwargs)

    def completed(self) -> Iterator[ItemResult]:
        """Yield the result of every submitted item as it completes, until none is in flight."""
        while self._ready or self._pending:
            if not self._ready:
                self._collect()
            if self._ready:
                yield self._ready.popleft()

    def map_unordered(self, fn: Callable[..., Any], items: Iterable[tuple[Hashable, tuple]], /,
                      **common_kwargs: Any) -> Iterator[ItemResult]:
        """Run ``fn(*args, **common_kwargs)`` for every ``(key, args)`` of ``items``; yield as completed.

        ``items`` is consumed lazily: the next item is pulled only while fewer than
        :attr:`max_in_flight` items are pulled and not yet yielded back, so a generator that produces
        items (reads, fuses) runs while the workers compute, and memory stays bounded.
        """
        self._check_open()
        it = iter(items)
        exhausted = False
        while True:
            if self._ready:   # hand over what is finished before pulling more: the bound counts both
                yield self._ready.popleft()
                continue
            while not exhausted and len(self._pending) < self.max_in_flight:
                try:
                    key, args = next(it)
                except StopIteration:
                    exhausted = True
                    break
                self.submit(key, fn, *args, **common_kwargs)
            if self._pending:
                self._collect()
            elif exhausted:
                return

    def close(self, *, cancel: bool = False) -> None:
        """Release the workers (idempotent). ``cancel``: do not wait for items still in flight."""
        if not self._closed:
            self._closed = True
            self._shutdown(cancel=cancel or bool(self._pending))

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(cancel=exc_type is not None)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(workers={self.workers}, max_in_flight={self.max_in_flight}, "
                f"in_flight={self.in_flight})")
