"""``run`` on a dask cluster (optional extra ``[dask]``): a ``distributed.LocalCluster`` with two
worker processes gives the summary of a local run; a worker killed mid-run loses no pair and
duplicates none."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pandas as pd
import pytest

import benchmark
from benchmark.config import RunConfig

distributed = pytest.importorskip("distributed", reason="the dask executor tests need the [dask] extra "
                                                        "(pip install -e '.[dask]')")

FUSERS = ["mean", "max"]
KEYS = ["EN", "SD", "MI", "Qabf", "VIF"]


@pytest.fixture
def cluster():
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                 worker_dashboard_address=None)
    yield c
    c.close()


def cfg(out, **kw) -> RunConfig:
    return RunConfig(fusers=FUSERS, metrics=KEYS, out=str(out), run_id="r", leaderboard=None, plots=False,
                     progress=False, **kw)


def test_dask_run_gives_the_local_summary(tmp_path, cluster):
    local = benchmark.run(cfg(tmp_path / "local", jobs=2), log=lambda m: None)
    dask = benchmark.run(cfg(tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address),
                         log=lambda m: None)
    assert dask.exit_code == local.exit_code == benchmark.ExitCode.OK
    assert dask.files["summary_csv"].read_text() == local.files["summary_csv"].read_text()
    assert dask.files["per_image"].read_text() == local.files["per_image"].read_text()


def test_worker_killed_mid_run_every_pair_exactly_once(tmp_path, cluster):
    client = distributed.Client(cluster, set_as_default=False)
    try:
        victim_pid = sorted(client.run(os.getpid).items())[0][1]
    finally:
        client.close()
    cache = tmp_path / "res" / ".cache"
    killed = threading.Event()

    def kill_when_some_pairs_are_done():
        deadline = time.time() + 120
        while time.time() < deadline:
            done = 0
            for p in cache.rglob("*.json"):
                try:
                    done += bool(json.loads(p.read_text()).get("metrics"))
                except (OSError, ValueError):
                    pass
            if done >= 2:
                os.kill(victim_pid, signal.SIGKILL)    # the worker process (its nanny starts a new one)
                killed.set()
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_some_pairs_are_done, daemon=True)
    killer.start()
    out = benchmark.run(cfg(tmp_path / "res", executor="dask", scheduler=cluster.scheduler_address,
                            conventions=["tang2023", "cddfuse"]), log=lambda m: None)
    killer.join()
    assert killed.is_set(), "the run finished before a worker could be killed"
    assert out.exit_code == benchmark.ExitCode.OK, out.problems()
    per = pd.read_csv(out.files["per_image"])
    counts = per.groupby(["fuser", "pair", "metric", "convention"]).size()
    assert len(counts) == len(FUSERS) * 8 * len(KEYS) * 2 and (counts == 1).all()
    assert len([o for o in out.outcomes if o.status == "ok"]) == len(FUSERS) * 8
