"""A bounded background writer: file writes (PNG encoding, JSON records) off the critical path.

Writes run on one thread in submission order, so a pair's fused PNG submitted before its record is
on disk before the record (a record never points to a missing image). The queue is bounded: when
the disk is slower than the pipeline, :meth:`BackgroundWriter.submit` waits, so memory stays
bounded. The first write that fails stops the writer; the exception (e.g. ``OSError`` for a full
disk or read-only folder) is re-raised, unchanged, by the next :meth:`~BackgroundWriter.submit` or by
:meth:`~BackgroundWriter.close`, so the caller reports it; writes queued after it are not attempted
(the pairs they belong to are simply not recorded, and a rerun computes them).
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable

_STOP = object()


class BackgroundWriter:
    """``submit(fn, *args, **kwargs)`` runs ``fn`` on the writer thread; ``close()`` waits for all.

    max_queued: writes waiting at most (each holds its data, e.g. one fused image).
    """

    def __init__(self, *, max_queued: int = 8, name: str = "ivif-writer"):
        if not isinstance(max_queued, int) or max_queued < 1:
            raise ValueError(f"max_queued must be an integer >= 1, got {max_queued!r}")
        self._q: queue.Queue = queue.Queue(maxsize=max_queued)
        self._error: BaseException | None = None
        self._closed = False
        self.written = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            try:
                if job is _STOP:
                    return
                if self._error is None:
                    fn, args, kwargs = job
                    try:
                        fn(*args, **kwargs)
                        self.written += 1
                    except BaseException as exc:   # kept for the caller, re-raised there
                        self._error = exc
            finally:
                self._q.task_done()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; waits while the queue is full; raises an earlier write's error."""
        if self._closed:
            raise RuntimeError("BackgroundWriter.submit() after close()")
        self._raise_error()
        self._q.put((fn, args, kwargs))

    def flush(self) -> None:
        """Wait until every queued write is done; raise the first error."""
        self._q.join()
        self._raise_error()

    def close(self) -> None:
        """Finish the queued writes, stop the thread (idempotent); raise the first error."""
        if not self._closed:
            self._closed = True
            self._q.put(_STOP)
            self._thread.join()
        self._raise_error()

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:   # the caller's exception wins; the queued writes are still finished (completed work is kept)
            self._closed = True
            self._q.put(_STOP)
            self._thread.join()
