"""Prefetching and batching for the producer side of the pipeline (reading, decoding, fusing).

* :func:`prefetch_map` — ``fn(item)`` for every item on background threads, in order, at most
  ``depth`` items ahead of the consumer (reading and decoding the next pairs while the current one
  fuses); an exception of the types in ``catch`` becomes that item's error;
* :func:`background` — run any iterator on a background thread behind a bounded queue (the fuser
  runs ahead of the consumer, which meanwhile waits on metric results and hands files to the writer);
* :func:`group_batches` — consecutive items of equal size in groups of at most ``batch_size``.

All three are bounded (memory stays at a few items whatever the dataset size) and keep order.
"""
from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Generic, Hashable, Iterable, Iterator, TypeVar

from .executor import describe_exception

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Prefetched(Generic[T, R]):
    """One item of :func:`prefetch_map`: the input, ``fn``'s value, or the error it raised."""

    item: T
    value: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def prefetch_map(fn: Callable[[T], R], items: Iterable[T], *, depth: int = 4, threads: int = 1,
                 catch: tuple[type[BaseException], ...] = (Exception,)) -> Iterator[Prefetched[T, R]]:
    """Yield ``Prefetched(item, fn(item))`` in input order, computed on ``threads`` background threads.

    At most ``depth`` items are being computed or waiting while the consumer holds one. An exception
    of a type in ``catch`` becomes the item's ``error`` (``"Type: message"``); any other propagates
    to the consumer. Closing the generator early cancels what has not started.
    """
    _check_positive("depth", depth)
    _check_positive("threads", threads)
    it = iter(items)
    window: deque = deque()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ivif-prefetch")

    def fill() -> None:
        while len(window) < depth:
            try:
                item = next(it)
            except StopIteration:
                return
            window.append((item, pool.submit(fn, item)))

    try:
        fill()
        while window:
            item, fut = window.popleft()
            try:
                out = Prefetched(item, fut.result())
            except catch as exc:
                out = Prefetched(item, error=describe_exception(exc))
            fill()
            yield out
    finally:
        for _, fut in window:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


_DONE = object()


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


def background(iterable: Iterable[T], *, depth: int = 2, name: str = "ivif-background") -> Iterator[T]:
    """Iterate ``iterable`` on a background thread, at most ``depth`` items ahead of the consumer.

    An exception raised by the iterable is re-raised to the consumer at its position. Closing the
    generator early (``break``, an exception in the consumer) stops the thread at its next item.
    """
    _check_positive("depth", depth)
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(obj: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for obj in iterable:
                if not put(obj):
                    return
            put(_DONE)
        except BaseException as exc:   # handed to the consumer, which re-raises it
            put(_Raised(exc))
        finally:
            close = getattr(iterable, "close", None)
            if stop.is_set() and close is not None:
                close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            obj = q.get()
            if obj is _DONE:
                return
            if isinstance(obj, _Raised):
                raise obj.exc
            yield obj
    finally:
        stop.set()
        thread.join()


def group_batches(items: Iterable[T], *, batch_size: int,
                  key: Callable[[T], Hashable | None]) -> Iterator[list[T]]:
    """Consecutive items with equal ``key(item)`` (e.g. image height and width) in lists of at most
    ``batch_size``, in input order. An item whose key is None (e.g. one that failed to load) is a
    group of its own."""
    _check_positive("batch_size", batch_size)
    batch: list[T] = []
    batch_key: Hashable | None = None
    for item in items:
        k = key(item)
        if batch and (k is None or k != batch_key or len(batch) == batch_size):
            yield batch
            batch = []
        if k is None:
            yield [item]
            continue
        batch.append(item)
        batch_key = k
    if batch:
        yield batch
