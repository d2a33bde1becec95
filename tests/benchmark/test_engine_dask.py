"""The dask and slurm executors (optional extra ``[dask]``): an in-process ``distributed.LocalCluster``
with two worker processes; the Slurm job script (no Slurm needed)."""
from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

import engine_items as items
from benchmark.engine import SerialExecutor, SlurmConfig, make_executor
from benchmark.evaluation import evaluate_pair

distributed = pytest.importorskip("distributed", reason="the dask executor tests need the [dask] extra "
                                                        "(pip install -e '.[dask]')")


def new_cluster(**config):
    import dask

    with dask.config.set(config):   # scheduler settings are read when the scheduler starts
        return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                        worker_dashboard_address=None)


@pytest.fixture(scope="module")
def cluster():
    c = new_cluster()
    yield c
    c.close()


def collect(executor, fn, work, *, on_result=None, **kwargs):
    seen: Counter = Counter()
    results = {}
    with executor:
        for res in executor.map_unordered(fn, work, **kwargs):
            seen[res.key] += 1
            results[res.key] = res
            if on_result is not None:
                on_result(res, results)
    assert all(n == 1 for n in seen.values()), f"items delivered more than once: {seen}"
    return results


def test_dask_gives_the_same_results_as_serial(cluster):
    work = [(i, (*items.synthetic_triplet(i), items.METRIC_KEYS, "tang2023")) for i in range(6)]
    serial = collect(SerialExecutor(), evaluate_pair, work)
    ex = make_executor("dask", cluster=cluster)
    assert ex.workers == 2 and ex.max_in_flight == 4
    dask = collect(ex, evaluate_pair, work)
    assert dask.keys() == serial.keys()
    for key, res in dask.items():
        assert res.ok, res.error
        assert res.value == serial[key].value
        assert res.elapsed_s is not None and res.worker


def test_dask_bound_and_failing_item(cluster):
    ex = make_executor("dask", cluster=cluster, max_in_flight=3)
    peak = 0

    def check(res, results):
        nonlocal peak
        peak = max(peak, ex.in_flight)

    res = collect(ex, items.refuse_some, [(i, (i,)) for i in range(8)], on_result=check, bad=(3,))
    assert sorted(res) == list(range(8)) and peak <= 3
    assert res[3].error == "ValueError: item 3 refuses"
    assert all(res[i].ok and res[i].value == i * i for i in range(8) if i != 3)


def test_dask_worker_killed_mid_run_every_item_exactly_once(tmp_path):
    log = tmp_path / "started.txt"
    cluster = new_cluster()
    try:
        ex = make_executor("dask", cluster=cluster)
        pids = ex.client.run(os.getpid)            # {worker address: pid}
        victim_addr, victim_pid = sorted(pids.items())[0]
        killed = []

        def kill_once(res, results):
            if not killed and len(results) >= 2:
                os.kill(victim_pid, signal.SIGKILL)   # the worker process, not its nanny (which restarts it)
                killed.append(victim_addr)

        res = collect(ex, items.square_logged, [(i, (i,)) for i in range(14)], on_result=kill_once, sleep=0.25,
                      log=str(log))
        assert killed
        assert sorted(res) == list(range(14))
        assert all(r.ok and r.value == k * k for k, r in res.items())
        assert ex.duplicates_dropped == 0
        # the kill interrupted an item: it started on the victim and was completed by another worker
        started = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
        interrupted = {i for i, pid in started if pid == victim_pid and not res[i].worker.endswith(f":{pid}")}
        assert interrupted, f"no item was running on the killed worker: {started}"
    finally:
        cluster.close()


@pytest.mark.slow
def test_dask_item_that_keeps_killing_workers_is_that_items_failure():
    # allowed-failures 0: give up on a task at the first death of a worker running it; worker-saturation
    # 1.0: a worker holds only the task it runs (with dask's default 1.1 a task queued on the dying worker
    # counts as suspicious too, and would need allowed-failures > 0 to be re-run)
    cluster = new_cluster(**{"distributed.scheduler.allowed-failures": 0,
                             "distributed.scheduler.worker-saturation": 1.0})
    try:
        res = collect(make_executor("dask", cluster=cluster), items.kill_own_process,
                      [(i, (i,)) for i in range(6)], victim=2, sleep=0.05)
        assert sorted(res) == list(range(6))
        assert not res[2].ok and res[2].error.startswith("KilledWorker:")
        assert all(res[i].ok and res[i].value == i * i for i in range(6) if i != 2)
    finally:
        cluster.close()


def test_an_unreachable_scheduler_is_one_clear_error():
    from benchmark.engine import ExecutorError
    from benchmark.engine.cluster import DaskExecutor

    with pytest.raises(ExecutorError, match=r"cannot connect to the scheduler at tcp://127\.0\.0\.1:9"):
        DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout=1)


def test_slurm_job_script_has_the_configured_resources():
    pytest.importorskip("dask_jobqueue", reason="the slurm executor needs dask-jobqueue (pip install -e '.[dask]')")
    from benchmark.engine.cluster import build_slurm_cluster

    cfg = SlurmConfig(cores=8, memory="16GiB", walltime="02:30:00", queue="cpu-long", jobs=3, account="vision-lab",
                      job_extra_directives=["--qos=normal"], job_script_prologue=["module load python/3.11"],
                      local_directory="/scratch/ivif", python="/opt/venv/bin/python")
    cluster = build_slurm_cluster(cfg)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    assert "#SBATCH --cpus-per-task=8" in lines
    assert "#SBATCH --mem=16G" in lines
    assert "#SBATCH -t 02:30:00" in lines
    assert "#SBATCH -p cpu-long" in lines
    assert "#SBATCH -A vision-lab" in lines
    assert "#SBATCH --qos=normal" in lines
    assert lines.index("module load python/3.11") < lines.index("export OMP_NUM_THREADS=1")
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert worker.startswith("/opt/venv/bin/python ")
    assert "--nworkers 8" in worker and "--nthreads 1" in worker and "--local-directory /scratch/ivif" in worker
