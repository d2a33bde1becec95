"""A bounded background writer: file writes (PNG encoding, JSON records) off the critical path.

:meth:`BackgroundWriter.submit` queues a job and returns its :class:`~concurrent.futures.Future`.
With one thread (the default) jobs run in submission order. With ``threads > 1`` they run
concurrently (zlib releases the GIL while encoding a PNG, so threads scale where cores are spare);
a job that must follow another one (a pair's record after its fused PNG, so a record never points
to a missing image) waits on the earlier job's future first: :func:`after`. That cannot deadlock:
the queue is first-in first-out, so the earlier job has left the queue before the later one runs.

The queue is bounded: when the disk or the encoder is slower than the pipeline, ``submit`` waits,
so memory stays bounded. The first job that fails stops the writer: its exception (e.g. ``OSError``
for a full disk or a read-only folder) is re-raised, unchanged, by the next ``submit``, ``flush`` or
``close``, so the caller reports it; jobs queued after it are cancelled, not attempted (the pairs
they belong to are not recorded, and a rerun computes them).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

_STOP = object()


def after(first: Future, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Wait for the job ``first`` (re-raising its error), then return ``fn(*args, **kwargs)``; submit
    it as a job: ``writer.submit(after, png_job, atomic_write_json, path, record)``."""
    first.result()
    return fn(*args, **kwargs)


class BackgroundWriter:
    """``submit(fn, *args, **kwargs)`` runs ``fn`` on a writer thread; ``close()`` waits for all.

    max_queued: jobs waiting at most (each holds its data, e.g. one fused image).
    threads: writer threads (1: jobs run in submission order).
    """

    def __init__(self, *, max_queued: int = 8, threads: int = 1, name: str = "ivif-writer"):
        for label, v in (("max_queued", max_queued), ("threads", threads)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {v!r}")
        self._q: queue.Queue = queue.Queue(maxsize=max_queued)
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.written = 0
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        for t in self._threads:
            t.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            try:
                if job is _STOP:
                    return
                fut, fn, args, kwargs = job
                if self._error is not None:
                    fut.cancel()
                    continue
                if not fut.set_running_or_notify_cancel():
                    continue
                try:
                    fut.set_result(fn(*args, **kwargs))
                    with self._lock:
                        self.written += 1
                except BaseException as exc:   # kept for the caller, re-raised there
                    with self._lock:
                        self._error = self._error or exc
                    fut.set_exception(exc)
            finally:
                self._q.task_done()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)``; waits while the queue is full; raises an earlier job's error."""
        if self._closed:
            raise RuntimeError("BackgroundWriter.submit() after close()")
        self._raise_error()
        fut: Future = Future()
        self._q.put((fut, fn, args, kwargs))
        return fut

    def flush(self) -> None:
        """Wait until every queued job is done; raise the first error."""
        self._q.join()
        self._raise_error()

    def _stop(self) -> None:
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._q.put(_STOP)
            for t in self._threads:
                t.join()

    def close(self) -> None:
        """Finish the queued jobs, stop the threads (idempotent); raise the first error."""
        self._stop()
        self._raise_error()

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:   # the caller's exception wins; the queued jobs are still finished (completed work is kept)
            self._stop()
