"""Measuring a registered fuser in a fresh process: the parent (:func:`profile_in_subprocess`) and the
child protocol (``python -m benchmark.profiling``: a JSON request on stdin, a JSON answer on stdout)."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .inputs import normalise_device, parse_size
from .measure import check_counts, measure
from .memory import ru_maxrss_bytes
from .record import EfficiencyRecord, ProfilingError

def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def profile_in_subprocess(fuser_name: str, fuser_kwargs: Mapping[str, Any] | None = None, *,
                          size: str | Sequence[int] = (640, 480), device: str = "cpu", runs: int = 10,
                          warmup: int = 2, seed: int = 0, flops: bool = True, classical_on_cpu: bool = False,
                          num_threads: int | None = None, imports: Iterable[str] = (),
                          extra_sys_path: Iterable[str | os.PathLike] = (), timeout: float | None = None,
                          python: str | os.PathLike | None = None) -> EfficiencyRecord:
    """Measure ``create_fuser(fuser_name, **fuser_kwargs)`` in a fresh ``python -m benchmark.profiling``.

    The child builds the fuser, runs :func:`profile_fuser`'s protocol and answers with the record
    as JSON on stdout. On the CPU its peak memory is ``getrusage(RUSAGE_SELF).ru_maxrss`` of the
    child, i.e. the peak RSS of a fresh process that imported the libraries, built this one fuser
    and ran it (``mem_baseline_bytes`` holds the RSS after imports, before the fuser was built). On
    CUDA the figure is ``max_memory_allocated`` in a process that holds nothing else.

    Args:
        fuser_name, fuser_kwargs: what :func:`models.registry.create_fuser` builds (kwargs must be
            JSON-serialisable).
        num_threads: ``torch.set_num_threads`` in the child (None: torch's default).
        imports: modules the child imports before building the fuser (to register fusers that
            ``models`` does not import itself).
        extra_sys_path: directories prepended to the child's ``PYTHONPATH`` (after the repo root).
        timeout: seconds before the child is killed (:class:`ProfilingError`).
        python: interpreter for the child (default: this one).
        Other arguments: as for :func:`profile_fuser`.

    Raises:
        ProfilingError: the child failed (its error message and stderr tail are included).
    """
    if not isinstance(fuser_name, str) or not fuser_name:
        raise TypeError(f"fuser_name must be a non-empty string, got {fuser_name!r}")
    check_counts(runs, warmup)
    w, h = parse_size(size)
    device = normalise_device(device, check_available=False)  # availability is checked in the child
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    request = {"fuser": fuser_name, "kwargs": dict(fuser_kwargs or {}), "size": [w, h], "device": device,
               "runs": int(runs), "warmup": int(warmup), "seed": int(seed), "flops": bool(flops),
               "classical_on_cpu": bool(classical_on_cpu), "num_threads": num_threads,
               "imports": [str(m) for m in imports]}
    try:
        payload = json.dumps(request)
    except TypeError as err:
        raise TypeError(f"fuser_kwargs must be JSON-serialisable for the child process: {err}") from None
    env = dict(os.environ)
    paths = [str(_repo_root())] + [str(Path(p)) for p in extra_sys_path]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [str(python or sys.executable), "-m", "benchmark.profiling"]
    try:
        proc = subprocess.run(cmd, input=payload, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        raise ProfilingError(f"profiling {fuser_name!r} in a subprocess timed out after {timeout} s") from err
    answer: dict[str, Any] | None = None
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError:
        answer = None
    if proc.returncode != 0 or not isinstance(answer, dict) or not answer.get("ok"):
        reason = (answer or {}).get("error") or f"exit status {proc.returncode}, no JSON answer on stdout"
        tail = proc.stderr[-4000:]
        raise ProfilingError(f"profiling {fuser_name!r} in a subprocess failed: {reason}\n"
                             f"--- child stderr (last 4000 characters) ---\n{tail}")
    return EfficiencyRecord.from_dict(answer["record"])


def child_main() -> int:
    """``python -m benchmark.profiling``: read a JSON request on stdin, answer JSON on stdout."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # anything the fuser prints goes to stderr; stdout carries only the answer
    try:
        request = json.loads(sys.stdin.read())
        for name in request.get("imports", []):
            importlib.import_module(name)
        import models

        if request.get("num_threads"):
            import torch

            torch.set_num_threads(int(request["num_threads"]))
        baseline = ru_maxrss_bytes()  # RSS after imports; replaced by memory_allocated() on CUDA
        fuser = models.create_fuser(request["fuser"], **request["kwargs"])
        record = measure(fuser, size=tuple(request["size"]), device=request["device"], runs=request["runs"],
                          warmup=request["warmup"], seed=request["seed"], flops=request["flops"],
                          classical_on_cpu=request["classical_on_cpu"], cpu_memory="fresh",
                          mem_baseline=baseline)
        record.process = "fresh subprocess"
        answer, rc = {"ok": True, "record": record.to_dict()}, 0
    except Exception as err:  # reported to the parent, which raises ProfilingError
        answer, rc = {"ok": False, "error": f"{type(err).__name__}: {err}"}, 1
        traceback.print_exc()
    sys.stdout.flush()
    with os.fdopen(answer_fd, "w") as out:
        out.write(json.dumps(answer))
    return rc
