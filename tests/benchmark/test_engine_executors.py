"""Executors on one machine (serial, local process pool): same results, bounded, failures per item."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import engine_items as items
from benchmark.engine import EXECUTOR_KINDS, ExecutorUnavailableError, ItemResult, SlurmConfig, make_executor
from benchmark.engine.local import LocalExecutor, SerialExecutor
from benchmark.evaluation import evaluate_pair

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def metric_items(n: int = 5):
    """(key, args) of evaluate_pair on synthetic triplets; the last one is too small for some metrics."""
    out = [(i, (*items.synthetic_triplet(i), items.METRIC_KEYS + ["MS-SSIM"], "tang2023")) for i in range(n - 1)]
    out.append((n - 1, (*items.synthetic_triplet(n - 1, size=(9, 9)), items.METRIC_KEYS + ["MS-SSIM"], "tang2023")))
    return out


def run_all(executor, fn, work, **kwargs) -> dict:
    with executor:
        got = list(executor.map_unordered(fn, work, **kwargs))
    keys = [r.key for r in got]
    assert len(keys) == len(set(keys)), f"an item was delivered twice: {keys}"
    return {r.key: r for r in got}


@pytest.fixture(scope="module")
def serial_metric_results():
    return run_all(SerialExecutor(), evaluate_pair, metric_items())


def test_serial_results_are_evaluate_pair_called_directly(serial_metric_results):
    for key, args in metric_items():
        assert serial_metric_results[key].ok
        assert serial_metric_results[key].value == evaluate_pair(*args)
    small = serial_metric_results[len(serial_metric_results) - 1].value
    assert small["MS-SSIM"]["value"] is None and small["MS-SSIM"]["error"]   # isolated per metric
    assert small["EN"]["value"] is not None


def test_local_pool_gives_identical_results(serial_metric_results):
    local = run_all(LocalExecutor(2), evaluate_pair, metric_items())
    assert local.keys() == serial_metric_results.keys()
    for key, res in local.items():
        assert res.ok, res.error
        assert res.value == serial_metric_results[key].value
        assert res.elapsed_s is not None and res.elapsed_s >= 0 and res.cpu_s is not None
        assert res.worker and res.worker != serial_metric_results[key].worker   # another process


@pytest.mark.parametrize("kind,bound", [("serial", 1), ("serial", 3), ("local", 3)])
def test_never_more_than_the_bound_in_flight(kind, bound):
    executor = make_executor(kind, jobs=2, max_in_flight=bound)
    produced = consumed = peak = 0

    def produce():
        nonlocal produced, peak
        for i in range(12):
            produced += 1
            peak = max(peak, produced - consumed)
            assert executor.in_flight <= bound
            yield i, (i,)

    with executor:
        for res in executor.map_unordered(items.square, produce(), sleep=0.02 if kind == "local" else 0.0):
            consumed += 1
            assert res.ok and res.value == res.key ** 2
            assert executor.in_flight <= bound
    assert consumed == 12
    assert peak == bound   # the bound is reached (the producer runs ahead) and never exceeded


def test_submit_blocks_at_the_bound_and_keeps_finished_results():
    ex = SerialExecutor(max_in_flight=2)
    for i in range(5):
        ex.submit(i, items.square, i)
        assert ex.in_flight <= 2
    got = sorted((r.key, r.value) for r in ex.completed())
    assert got == [(i, i * i) for i in range(5)]
    with pytest.raises(ValueError, match="already submitted"):
        ex.submit(3, items.square, 3)
    ex.close()


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_a_failing_item_is_reported_and_the_others_complete(kind):
    res = run_all(make_executor(kind, jobs=2), items.refuse_some, [(i, (i,)) for i in range(6)], bad=(2, 4))
    assert sorted(res) == list(range(6))
    for i in (2, 4):
        assert not res[i].ok and res[i].error == f"ValueError: item {i} refuses" and res[i].value is None
    assert all(res[i].ok and res[i].value == i * i for i in (0, 1, 3, 5))


def test_local_worker_death_fails_only_the_item_that_caused_it():
    ex = LocalExecutor(2, max_in_flight=4)
    res = run_all(ex, items.kill_own_process, [(i, (i,)) for i in range(8)], victim=5, sleep=0.05)
    assert sorted(res) == list(range(8))
    assert not res[5].ok and res[5].error.startswith("WorkerDied:") and "SIGKILL" in res[5].error
    assert all(res[i].ok and res[i].value == i * i for i in range(8) if i != 5)
    assert ex.culprits == 1 and ex.isolated_reruns >= 1


def test_local_workers_use_one_thread_and_import_no_dask():
    res = run_all(LocalExecutor(1), items.worker_state, [(0, ())])
    assert res[0].ok, res[0].error
    state = res[0].value
    assert state["torch_threads"] == 1 and state["omp"] == "1" and state["openblas"] == "1"
    assert state["heavy"] == []


def test_a_worker_imports_nothing_heavy_to_run_a_task():
    res = run_all(LocalExecutor(1), items.imported_before_task, [(0, ())])
    assert res[0].ok and res[0].value == []


def test_default_install_and_local_run_import_no_dask():
    code = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
import engine_items
from benchmark.engine import make_executor
from benchmark.evaluation import evaluate_pair
with make_executor("local", jobs=2) as ex:
    work = [(i, (*engine_items.synthetic_triplet(i), ["EN", "MI"], "tang2023")) for i in range(3)]
    res = list(ex.map_unordered(evaluate_pair, work))
assert all(r.ok for r in res) and len(res) == 3
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed", "dask_jobqueue"))))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_missing_dask_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed -> ImportError
    with pytest.raises(ExecutorUnavailableError, match=r"pip install -e '\.\[dask\]'"):
        make_executor("dask", scheduler="tcp://127.0.0.1:1")
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(ExecutorUnavailableError, match=r"slurm executor needs: pip install -e '\.\[dask\]'"):
        make_executor("slurm", slurm=SlurmConfig(cores=4, memory="8GiB"))


def test_make_executor_checks_its_arguments():
    with pytest.raises(KeyError, match="did you mean 'local'"):
        make_executor("locl")
    with pytest.raises(ValueError, match="apply to the dask executor only"):
        make_executor("local", scheduler="tcp://x:1")
    with pytest.raises(ValueError, match="needs the slurm settings"):
        make_executor("slurm")
    with pytest.raises(ValueError, match="jobs must be an integer >= 1, got 0"):
        make_executor("local", jobs=0)
    with pytest.raises(ValueError, match="max_in_flight must be an integer >= 1"):
        make_executor("serial", max_in_flight=0)
    with pytest.raises(ValueError, match="exactly one of scheduler=ADDRESS or cluster=OBJECT"):
        make_executor("dask")
    assert EXECUTOR_KINDS == ("serial", "local", "dask", "slurm")


@pytest.mark.parametrize("field,value,msg", [
    ("cores", 0, "slurm.cores: expected an integer >= 1, got 0"),
    ("memory", "16", "slurm.memory: expected a size such as '16GiB'"),
    ("walltime", "2h", "slurm.walltime: expected HH:MM:SS"),
    ("processes", 9, "slurm.processes: expected an integer from 1 to cores=8"),
    ("job_extra_directives", "--exclusive", "slurm.job_extra_directives: expected a list of strings"),
])
def test_slurm_config_is_validated(field, value, msg):
    kwargs = {"cores": 8, "memory": "16GiB", field: value}
    with pytest.raises(ValueError, match=msg):
        SlurmConfig(**kwargs)


def test_item_result_ok_follows_error():
    assert ItemResult("a", 1).ok and not ItemResult("a", error="ValueError: x").ok
