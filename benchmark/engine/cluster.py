"""Executors on more than one machine: ``dask`` (a running scheduler or a cluster object) and ``slurm``.

dask, distributed and dask-jobqueue are the optional extra ``[dask]``; they are imported here, when an
executor is built, never by a default install or a local run. Missing, they raise
:class:`~.executor.ExecutorUnavailableError` saying what to install.

Failure semantics (dask's): when a worker dies, the scheduler re-runs the tasks it held on other
workers; a task that was on ``distributed.scheduler.allowed-failures`` + 1 dying workers (default 3)
is given up with ``KilledWorker`` — reported here as that item's failure, not the run's. Every
future is read once and released, so each item's result is delivered exactly once. A function that
raises is caught inside the worker (:func:`~.executor.call_item`) and never retried.

Items travel inside their tasks (not ``scatter``-ed), so the scheduler keeps what it needs to re-run
a task whose worker died; the bound on items in flight bounds that memory.
"""
from __future__ import annotations

import sys
import time
import uuid
from typing import Any, Hashable

from .executor import Executor, ExecutorError, ExecutorUnavailableError, ItemResult, call_item, \
    describe_exception, result_from_call, thread_env
from .factory import SlurmConfig

_INSTALL_HINT = "pip install -e '.[dask]'"


def _require(module: str, kind: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExecutorUnavailableError(f"the {kind} executor needs: {_INSTALL_HINT} ({exc})") from None


class DaskExecutor(Executor):
    """Items run on the workers of a dask cluster, through a ``distributed.Client``.

    scheduler: address of a running scheduler (``tcp://host:8786``, started with ``dask scheduler``);
    cluster: or a cluster object (``distributed.LocalCluster``, ``dask_jobqueue.SLURMCluster``).
    owns_cluster: close ``cluster`` with the executor (the slurm executor's own cluster).
    connect_timeout: seconds to wait for the scheduler.
    The workers must have this package (same version) and its dependencies installed.
    """

    kind = "dask"
    _WORKERS_REFRESH_S = 2.0

    def __init__(self, *, scheduler: str | None = None, cluster: Any = None, max_in_flight: int | None = None,
                 owns_cluster: bool = False, connect_timeout: float = 30.0):
        if (scheduler is None) == (cluster is None):
            raise ValueError(f"the {self.kind} executor needs exactly one of scheduler=ADDRESS or cluster=OBJECT "
                             f"(got scheduler={scheduler!r}, cluster={cluster!r})")
        distributed = _require("distributed", self.kind)
        super().__init__(max_in_flight=max_in_flight)
        self._distributed = distributed
        self._cluster = cluster if owns_cluster else None
        self._where = scheduler if scheduler is not None else repr(cluster)
        try:
            self._client = distributed.Client(scheduler if scheduler is not None else cluster,
                                              timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(f"{self.kind} executor: cannot connect to the scheduler at {self._where}: "
                                f"{type(exc).__name__}: {exc}") from None
        self._futures: dict[Any, Hashable] = {}     # distributed.Future -> item key
        self._done = distributed.as_completed(loop=self._client.loop)   # not the default client's
        self._token = uuid.uuid4().hex[:10]
        self._seq = 0
        self._workers = 0
        self._workers_at = -float("inf")

    @property
    def client(self):
        """The ``distributed.Client`` (e.g. for ``client.dashboard_link``)."""
        return self._client

    @property
    def workers(self) -> int:
        """Worker threads the scheduler knows now (refreshed at most every 2 s; 0 before any joined;
        after :meth:`close`, the last value seen)."""
        now = time.monotonic()
        if not self._closed and now - self._workers_at > self._WORKERS_REFRESH_S:
            self._workers = int(sum(self._client.nthreads().values()))
            self._workers_at = now
        return self._workers

    def _start(self, key, fn, args, kwargs) -> None:
        self._seq += 1
        name = getattr(fn, "__name__", "item")
        fut = self._client.submit(call_item, fn, args, kwargs, 1, key=f"ivif-{name}-{self._token}-{self._seq}",
                                  pure=False)
        self._futures[fut] = key
        self._done.add(fut)

    def _wait(self) -> list[ItemResult]:
        out = []
        for fut in self._done.next_batch(block=True):
            key = self._futures.pop(fut)
            out.append(self._result(key, fut))
            fut.release()
        return out

    def _result(self, key: Hashable, fut) -> ItemResult:
        if fut.status == "finished":
            try:
                return result_from_call(key, fut.result())
            except Exception as exc:   # the result could not be fetched/deserialised
                return ItemResult(key, error=describe_exception(exc))
        if fut.status == "error":
            exc = fut.exception()
            if isinstance(exc, self._distributed.KilledWorker):
                return ItemResult(key, error=f"KilledWorker: every worker that ran this item died; dask gave up "
                                             f"on it (distributed.scheduler.allowed-failures): {exc}")
            return ItemResult(key, error=describe_exception(exc))
        if self._client.status not in ("running", "connecting"):
            raise ExecutorError(f"{self.kind} executor: lost the connection to the scheduler at {self._where} "
                                f"(client status {self._client.status!r}); items in flight are not recorded, "
                                f"a rerun resumes")
        return ItemResult(key, error=f"CancelledError: the scheduler cancelled this item's task "
                                     f"(future status {fut.status!r})")

    def _shutdown(self, *, cancel: bool) -> None:
        try:
            if cancel and self._futures:
                self._client.cancel(list(self._futures))
            self._futures.clear()
            self._done.clear()
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


class SlurmExecutor(DaskExecutor):
    """A ``dask_jobqueue.SLURMCluster`` built from a :class:`~.factory.SlurmConfig`, scaled to
    ``config.jobs`` jobs, with a client on it. Items queue on the scheduler until jobs start."""

    kind = "slurm"

    def __init__(self, config: SlurmConfig, *, max_in_flight: int | None = None):
        cluster = build_slurm_cluster(config)
        try:
            cluster.scale(jobs=config.jobs)
            super().__init__(cluster=cluster, owns_cluster=True,
                             max_in_flight=max_in_flight or max(2, 2 * config.worker_threads))
        except BaseException:
            cluster.close()
            raise
        self.config = config

    @property
    def workers(self) -> int:
        """The worker threads requested (jobs × cores), whether or not the jobs have started."""
        return self.config.worker_threads


def build_slurm_cluster(config: SlurmConfig):
    """The ``dask_jobqueue.SLURMCluster`` of ``config`` (not yet scaled; ``.job_script()`` shows the
    batch script it submits). One single-threaded worker per core by default, BLAS/OpenMP threads 1."""
    jobqueue = _require("dask_jobqueue", "slurm")
    exports = [f"export {k}={v}" for k, v in thread_env(max(1, config.cores // config.workers_per_job)).items()]
    kwargs: dict[str, Any] = dict(
        cores=config.cores, processes=config.workers_per_job, memory=config.memory, walltime=config.walltime,
        queue=config.queue, account=config.account, job_name="ivif-worker",
        job_extra_directives=list(config.job_extra_directives),
        job_script_prologue=[*config.job_script_prologue, *exports],
        python=config.python or sys.executable)
    for name in ("local_directory", "log_directory", "interface"):
        if getattr(config, name) is not None:
            kwargs[name] = getattr(config, name)
    try:
        return jobqueue.SLURMCluster(**kwargs)
    except (ValueError, TypeError, OSError) as exc:
        raise ExecutorError(f"slurm executor: cannot build the Slurm cluster from {config}: "
                            f"{type(exc).__name__}: {exc}") from None
