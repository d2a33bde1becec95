"""Single-core wall-clock time of the classical baselines on one 640×480 pair.

Every BLAS/OpenMP pool is limited to one thread, OpenCV to one thread, and the process is pinned to
one CPU core before NumPy is imported. Each fuser is timed through ``Fuser.run`` (what the harness
calls: validation, padding, fusion, output check) after one warm-up call; the table reports the
median and the minimum of ``--repeats`` runs and whether the median is within ``--budget`` seconds.

Usage (from the repository root)::

    python benchmarks/baselines_speed.py                     # MSRS 00055D from ../shared/datasets
    python benchmarks/baselines_speed.py --synthetic         # seeded synthetic 640×480 pair instead
    python benchmarks/baselines_speed.py --fusers cbf adf --repeats 10

This is a benchmark, not a test: the numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")


def _single_thread() -> str:
    """Limit thread pools to one thread and pin the process to one core; must run before numpy is imported."""
    if "numpy" in sys.modules:
        raise RuntimeError("_single_thread() must run before numpy is imported (thread pools are sized at import)")
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity on this platform)"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared",
                   help="shared reference folder holding datasets/MSRS (default: ../shared)")
    p.add_argument("--pair", default="00055D", help="MSRS test pair name (default: 00055D, 640×480)")
    p.add_argument("--synthetic", action="store_true", help="use a seeded synthetic 640×480 pair instead of MSRS")
    p.add_argument("--fusers", nargs="+", default=None,
                   help="registry names to time (default: every fuser tagged 'classical')")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per fuser (default: 5)")
    p.add_argument("--budget", type=float, default=1.0, help="seconds per pair a baseline may take (default: 1)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats must be >= 1, got {args.repeats}")
    return args


def _load_pair(args):
    import numpy as np

    if args.synthetic:
        import cv2

        rng = np.random.default_rng(0)
        out = []
        for cells in (12, 20):
            coarse = rng.random((480 // cells + 2, 640 // cells + 2)).astype(np.float32)
            img = cv2.resize(coarse, (640, 480), interpolation=cv2.INTER_CUBIC)
            img += 0.05 * rng.standard_normal((480, 640)).astype(np.float32)
            out.append(np.clip((img - img.min()) / (img.max() - img.min()), 0, 1).astype(np.float32))
        return out[0], out[1], "synthetic seeded 640x480 pair"
    from PIL import Image

    root = args.shared / "datasets" / "MSRS" / "test"
    ir_path, vi_path = root / "ir" / f"{args.pair}.png", root / "vi" / f"{args.pair}.png"
    for path in (ir_path, vi_path):
        if not path.is_file():
            raise SystemExit(f"error: {path} not found; pass --shared <dir> (the folder holding datasets/) "
                             f"or --synthetic")
    ir = np.asarray(Image.open(ir_path).convert("L"), dtype=np.float32) / 255.0
    rgb = np.asarray(Image.open(vi_path).convert("RGB"), dtype=np.float32) / 255.0
    vis_y = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601 full-range luma
    return ir, np.clip(vis_y, 0.0, 1.0), f"MSRS test pair {args.pair}"


def main(argv=None) -> int:
    args = _parse(argv)
    pinning = _single_thread()
    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    sys.path.insert(0, str(REPO_ROOT))
    import models

    ir, vis_y, source = _load_pair(args)
    if ir.shape != (480, 640):
        print(f"note: the pair is {ir.shape[1]}x{ir.shape[0]}, not 640x480", file=sys.stderr)
    names = args.fusers or [n for n in models.list_fusers() if "classical" in models.fuser_spec(n).tags]
    rows = []
    for name in names:
        fuser = models.create_fuser(name)
        fuser.run(ir, vis_y)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fuser.run(ir, vis_y)
            times.append(time.perf_counter() - t0)
        rows.append((name, float(np.median(times)), min(times)))

    print(f"Input: {source}, {ir.shape[1]}x{ir.shape[0]}; {args.repeats} timed runs after 1 warm-up; "
          f"1 thread, {pinning}")
    print(f"Machine: {_cpu_name()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, OpenCV {cv2.__version__}")
    print()
    print("| fuser | median (s) | min (s) | within budget |")
    print("|---|---:|---:|---|")
    for name, med, best in rows:
        ok = "yes" if med <= args.budget else f"NO (> {args.budget:g} s)"
        print(f"| {name} | {med:.3f} | {best:.3f} | {ok} |")
    return 0 if all(med <= args.budget for _, med, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
