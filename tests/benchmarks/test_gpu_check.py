"""benchmarks/gpu_check.sh: it parses, refuses a machine without CUDA at once with a clear message, and
(opt-in, ``IVIF_GPU_CHECK_DRYRUN=1``: a few minutes on 2 cores) runs every step on the CPU at tiny sizes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="gpu_check.sh is a bash script")


def _run(device: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEVICE": device, "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=timeout)


def test_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_without_cuda_it_fails_fast_with_a_clear_message():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the script would run the whole check")
    done = _run("cuda", timeout=120)
    assert done.returncode == 3, done.stderr
    assert "sees no CUDA device" in done.stderr
    assert "error: no CUDA device for DEVICE=cuda" in done.stderr
    assert "==" not in done.stdout                    # no step started


def test_unknown_device_is_a_usage_error():
    done = _run("tpu", timeout=60)
    assert done.returncode == 2
    assert "error: DEVICE: expected cuda, cuda:N or cpu, got 'tpu'" in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("IVIF_GPU_CHECK_DRYRUN") != "1",
                    reason="the CPU dry run of gpu_check.sh takes minutes; set IVIF_GPU_CHECK_DRYRUN=1")
def test_dry_run_on_cpu_runs_every_step():
    done = _run("cpu", timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for step in ("== 1. efficiency at 64x48 on cpu", "== 2. RED training step", "== 3. run: dmnet-tiny on cpu"):
        assert step in done.stdout
    assert "gpu_check: done" in done.stdout
