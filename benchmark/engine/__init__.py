"""The execution engine of the runner: executors, a prefetching loader, batched fusion, a writer.

* :mod:`.executor` — the one interface (:class:`Executor`: submit a picklable per-item function with
  its arguments, get :class:`ItemResult` objects back as items complete, at most ``max_in_flight``
  in flight) and the worker-side call wrapper;
* :mod:`.local` — ``serial`` (in process) and ``local`` (a process pool on this machine);
* :mod:`.cluster` — ``dask`` (a ``distributed.Client`` on a running scheduler or a cluster object)
  and ``slurm`` (``dask_jobqueue.SLURMCluster``); dask is an optional extra, imported only there;
* :mod:`.loader` — ordered, bounded prefetching (background threads) and grouping of consecutive
  same-size pairs into batches;
* :mod:`.batching` — batched fusion through :meth:`models.Fuser.run_batch` with per-pair isolation;
* :mod:`.writer` — a bounded background writer thread (PNG encoding and JSON records off the
  critical path).

This package and the modules a worker process unpickles import neither torch, the fusers nor dask.
"""
from .executor import Executor, ExecutorError, ExecutorUnavailableError, ItemResult
from .factory import EXECUTOR_KINDS, SlurmConfig, make_executor
from .local import LocalExecutor, SerialExecutor

__all__ = ["Executor", "ExecutorError", "ExecutorUnavailableError", "ItemResult", "EXECUTOR_KINDS",
           "SlurmConfig", "make_executor", "LocalExecutor", "SerialExecutor"]
