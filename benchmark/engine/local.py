"""Executors on this machine: ``serial`` (in this process) and ``local`` (a process pool).

The ``local`` pool is loky's :class:`ProcessPoolExecutor` (shipped with joblib, a core dependency),
chosen over :class:`concurrent.futures.ProcessPoolExecutor` because

* its worker processes are started by fork+exec, never a bare ``fork`` of this multi-threaded
  process (the runner has loader and writer threads, torch has its own), which can deadlock;
* it sets the environment of a worker before the worker imports anything (``env=``), so the BLAS /
  OpenMP thread counts are 1 before numpy loads (the standard pool can only set them afterwards);
* a worker that dies (segfault, OOM killer) breaks the pool promptly with ``TerminatedWorkerError``
  naming the exit code, instead of hanging.

Either pool fails *every* item in flight when one worker dies, without saying whose item killed it.
:class:`LocalExecutor` therefore replaces the broken pool and re-runs the items that were in flight
one at a time: an innocent item then completes normally (its result is delivered once), and an item
that kills its worker again while running alone is reported as that item's failure.
"""
from __future__ import annotations

import re
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait

from .executor import Executor, ExecutorError, ItemResult, call_item, describe_exception, result_from_call, \
    thread_env

_Task = tuple  # (key, fn, args, kwargs)
#: after a worker died, how long to wait for the other items of that pool to report (they normally
#: fail at once with the same error; one that completed just before is still delivered)
_BROKEN_POOL_GRACE_S = 60.0


class SerialExecutor(Executor):
    """Runs every item in this process, one at a time, in submission order (``--jobs 1``, debugging).

    Items are computed when their results are awaited, so a producer and the computation alternate
    exactly as with a pool of one worker. The caller's torch/BLAS thread settings are left unchanged.
    """

    kind = "serial"

    def __init__(self, *, max_in_flight: int | None = None):
        super().__init__(max_in_flight=1 if max_in_flight is None else max_in_flight)
        self._queue: deque[_Task] = deque()

    @property
    def workers(self) -> int:
        return 1

    def _start(self, key, fn, args, kwargs) -> None:
        self._queue.append((key, fn, args, kwargs))

    def _wait(self) -> list[ItemResult]:
        key, fn, args, kwargs = self._queue.popleft()
        return [result_from_call(key, call_item(fn, args, kwargs, None))]

    def _shutdown(self, *, cancel: bool) -> None:
        self._queue.clear()


class LocalExecutor(Executor):
    """A pool of ``jobs`` worker processes on this machine, each with ``threads_per_worker`` BLAS /
    OpenMP / torch threads (default 1: ``jobs`` workers use ``jobs`` cores).

    Worker death: see the module docstring. ``isolated_reruns`` counts items re-run alone after a
    worker died; ``culprits`` those reported as failures because their worker died also when alone.
    """

    kind = "local"

    def __init__(self, jobs: int, *, max_in_flight: int | None = None, threads_per_worker: int = 1):
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
        self._env = thread_env(threads_per_worker)   # validates threads_per_worker
        super().__init__(max_in_flight=max_in_flight)
        self._jobs = jobs
        self._threads = threads_per_worker
        self._futures: dict[Future, _Task] = {}
        self._suspects: deque[_Task] = deque()   # in flight when a worker died: re-run one at a time
        self._held: deque[_Task] = deque()       # submitted while suspects are being re-run
        self._isolating = False                  # a suspect runs alone in the pool
        self.isolated_reruns = 0
        self.culprits = 0
        self._pool = self._new_pool()

    def _new_pool(self):
        from joblib.externals.loky import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self._jobs, env=self._env)

    @property
    def workers(self) -> int:
        return self._jobs

    def _launch(self, task: _Task) -> None:
        key, fn, args, kwargs = task
        try:
            fut = self._pool.submit(call_item, fn, args, kwargs, self._threads)
        except RuntimeError as exc:
            if not _is_broken_pool(exc):
                raise
            # a worker died since the last wait (the items in flight on that pool will report it):
            # this item goes to a fresh pool
            self._replace_pool()
            fut = self._pool.submit(call_item, fn, args, kwargs, self._threads)
        self._futures[fut] = task

    def _pump(self) -> None:
        """Start what may start: a suspect alone on an idle pool, or, with no suspects, the held items."""
        if self._isolating and not self._futures:
            self._isolating = False   # the suspect running alone has finished
        if self._isolating:
            return
        if self._suspects:
            if not self._futures:
                self.isolated_reruns += 1
                self._isolating = True
                self._launch(self._suspects.popleft())
            return
        while self._held:
            self._launch(self._held.popleft())

    def _start(self, key, fn, args, kwargs) -> None:
        self._held.append((key, fn, args, kwargs))
        self._pump()

    def _wait(self) -> list[ItemResult]:
        if not self._futures:
            self._pump()
        if not self._futures:
            raise ExecutorError("local executor: nothing is running although items are in flight (internal error)")
        alone = len(self._futures) == 1
        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        out: list[ItemResult] = []
        broken: list[_Task] = []
        reason = ""
        for fut in done:
            task = self._futures.pop(fut)
            exc = fut.exception()
            if exc is None:
                out.append(result_from_call(task[0], fut.result()))
            elif _is_broken_pool(exc):
                broken.append(task)
                reason = _death_reason(exc)
            else:   # the arguments or the result could not be pickled, ...: this item's failure
                out.append(ItemResult(task[0], error=describe_exception(exc)))
        if broken:
            # every other item of the dead pool fails too (or is about to): collect them all
            for fut, task in list(self._futures.items()):
                try:
                    exc = fut.exception(timeout=_BROKEN_POOL_GRACE_S)
                except (TimeoutError, CancelledError) as wait_exc:
                    exc = wait_exc
                if exc is None:
                    out.append(result_from_call(task[0], fut.result()))
                else:
                    broken.append(task)
            self._futures.clear()
            self._replace_pool()
            if alone and len(broken) == 1:
                self.culprits += 1
                out.append(ItemResult(broken[0][0], error=f"WorkerDied: the worker process died while computing "
                                                        f"this item alone ({reason})"))
            else:
                self._suspects.extend(broken)
        self._pump()
        return out

    def _replace_pool(self) -> None:
        self._pool.shutdown(wait=False, kill_workers=True)
        self._pool = self._new_pool()

    def _shutdown(self, *, cancel: bool) -> None:
        self._held.clear()
        self._suspects.clear()
        self._futures.clear()
        self._pool.shutdown(wait=not cancel, kill_workers=cancel)


def _is_broken_pool(exc: BaseException) -> bool:
    """loky's ``TerminatedWorkerError`` / ``BrokenProcessPool`` (subclasses of the standard one)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool)


def _death_reason(exc: BaseException) -> str:
    """The exit-code line of loky's message, e.g. ``The exit codes of the workers are {SIGKILL(-9)}``."""
    m = re.search(r"exit codes? of the workers? (?:are|is) \{[^}]*\}", str(exc))
    return m.group(0) if m else f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
