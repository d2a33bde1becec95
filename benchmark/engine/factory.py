"""Building an executor from configuration values: ``--executor serial|local|dask|slurm``.

The Slurm settings are a dataclass (:class:`SlurmConfig`, the ``slurm:`` section of a config file);
the dask/slurm executors import dask only when they are built (:mod:`.cluster`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .executor import Executor

#: the executor kinds, in the order ``--help`` lists them
EXECUTOR_KINDS = ("serial", "local", "dask", "slurm")


@dataclass(frozen=True)
class SlurmConfig:
    """How to ask Slurm for dask workers (``dask_jobqueue.SLURMCluster``); all sizes are per job.

    cores: CPU cores per job (``--cpus-per-task``); one single-threaded dask worker per core unless
        ``processes`` says otherwise.
    memory: memory per job, e.g. ``"16GiB"`` (``--mem``; split evenly among the job's workers).
    walltime: ``HH:MM:SS`` (``-t``); workers end with their job, their items are rescheduled.
    queue: the partition (``-p``).
    jobs: how many such jobs to request (the cluster is scaled to this many).
    account: ``-A`` (optional).
    processes: dask worker processes per job (default: ``cores``).
    job_extra_directives: further ``#SBATCH`` lines, e.g. ``["--qos=normal", "--exclusive"]``.
    job_script_prologue: shell lines run before the worker starts (``module load ...``,
        ``source venv/bin/activate``); the BLAS/OpenMP thread variables are exported to 1 after them.
    local_directory: scratch directory of the workers on the compute nodes (e.g. ``$TMPDIR``).
    log_directory: where Slurm writes the jobs' output (default: the working directory).
    python: the Python executable on the compute nodes (default: this one, ``sys.executable``).
    interface: network interface the scheduler and workers listen on (e.g. ``"ib0"``).
    """

    cores: int
    memory: str
    walltime: str = "01:00:00"
    queue: str | None = None
    jobs: int = 1
    account: str | None = None
    processes: int | None = None
    job_extra_directives: tuple[str, ...] = ()
    job_script_prologue: tuple[str, ...] = ()
    local_directory: str | None = None
    log_directory: str | None = None
    python: str | None = None
    interface: str | None = None

    def __post_init__(self) -> None:
        import re

        for name in ("cores", "jobs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"slurm.{name}: expected an integer >= 1, got {v!r}")
        p = self.processes
        if p is not None and (not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= self.cores):
            raise ValueError(f"slurm.processes: expected an integer from 1 to cores={self.cores}, got {p!r}")
        if not isinstance(self.memory, str) or not re.fullmatch(r"\s*\d+(\.\d+)?\s*[KMGTP]i?B\s*", self.memory, re.I):
            raise ValueError(f"slurm.memory: expected a size such as '16GiB' or '32GB', got {self.memory!r}")
        if not isinstance(self.walltime, str) or not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}(:\d{2})?", self.walltime):
            raise ValueError(f"slurm.walltime: expected HH:MM:SS (or D-HH:MM:SS), got {self.walltime!r}")
        for name in ("job_extra_directives", "job_script_prologue"):
            v = getattr(self, name)
            if isinstance(v, str) or not all(isinstance(x, str) for x in v):
                raise ValueError(f"slurm.{name}: expected a list of strings, got {v!r}")
            object.__setattr__(self, name, tuple(v))

    @property
    def workers_per_job(self) -> int:
        return self.processes or self.cores

    @property
    def worker_threads(self) -> int:
        """Items computing at once when every job runs: jobs × cores (threads of all workers)."""
        return self.jobs * self.cores


def make_executor(kind: str, *, jobs: int = 1, max_in_flight: int | None = None, scheduler: str | None = None,
                  cluster: Any = None, slurm: SlurmConfig | None = None) -> Executor:
    """Build the executor ``kind`` (one of :data:`EXECUTOR_KINDS`).

    jobs: worker processes of ``local`` (``jobs == 1`` with ``local`` still uses one worker process;
        ``serial`` runs in this process).
    scheduler / cluster: for ``dask``, the address of a running scheduler (``tcp://host:8786``) or a
        cluster object (e.g. ``distributed.LocalCluster``); exactly one of them.
    slurm: for ``slurm``, the :class:`SlurmConfig`.
    max_in_flight: items submitted but not yet delivered, at most (default: 2 × the workers).
    """
    if kind not in EXECUTOR_KINDS:
        from ivif_toolbox import UnknownNameError

        raise UnknownNameError("executor", kind, list(EXECUTOR_KINDS))
    if kind != "dask" and (scheduler is not None or cluster is not None):
        raise ValueError(f"executor {kind!r}: --scheduler / a cluster object apply to the dask executor only")
    if kind != "slurm" and slurm is not None:
        raise ValueError(f"executor {kind!r}: the slurm settings apply to the slurm executor only")
    if kind in ("serial", "local"):
        from .local import LocalExecutor, SerialExecutor

        return SerialExecutor(max_in_flight=max_in_flight) if kind == "serial" else \
            LocalExecutor(jobs, max_in_flight=max_in_flight)
    if kind == "dask":
        from .cluster import DaskExecutor

        return DaskExecutor(scheduler=scheduler, cluster=cluster, max_in_flight=max_in_flight)
    if slurm is None:
        raise ValueError("executor 'slurm' needs the slurm settings (cores, memory, walltime, queue, jobs) "
                         "from the config file's 'slurm:' section")
    from .cluster import SlurmExecutor

    return SlurmExecutor(slurm, max_in_flight=max_in_flight)
