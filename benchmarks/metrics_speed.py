"""Time the 12 metrics on one core, and compare with CDDFuse's ``utils/Evaluator.py``.

Usage::

    python benchmarks/metrics_speed.py                       # tang2023, 640x480 and 1280x1024
    python benchmarks/metrics_speed.py --convention ivifzoo  # IVIF_ZOO (MS-SSIM and VIF in torch)
    python benchmarks/metrics_speed.py --cddfuse-evaluator /path/to/MMIF-CDDFuse/utils/Evaluator.py

Targets (one core, all 12 metrics): tang2023 <= 0.15 s per 640x480 triplet and <= 0.6 s per
1280x1024 triplet (issue 7); ivifzoo <= 0.25 s per 640x480 triplet (issue 11); and >= 20x faster
than CDDFuse's evaluator on the nine metrics it shares (EN, SF,
AG, SD, CC, SCD, MI, VIF - which CDDFuse calls ``VIFF`` - and Qabf), side by side on the same
triplets. The CDDFuse file is imported from a local copy given on the command line; it is never
vendored (it needs scikit-learn, scikit-image and OpenCV).

Triplets: the MSRS 640x480 fixture triplet (in-repository copy in ``tests/metrics/conformance``,
tiled to the larger size), otherwise synthetic images. Times are the best of ``--repeats`` runs
after a warm-up run; the median is printed too.

One core: the BLAS/OpenMP thread variables are set to 1 before numpy is imported, and torch (used by
ivifzoo's MS-SSIM and VIF) is limited to one intra-op thread with ``torch.set_num_threads(1)``
here - the metrics package itself never changes torch's settings.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # one core, set before numpy is imported

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import metrics  # noqa: E402
from metrics._torch_f32 import cpu_model  # noqa: E402

FIXTURES = ROOT / "tests" / "metrics" / "conformance"
SHARED_NINE = ["EN", "SF", "AG", "SD", "CC", "SCD", "MI", "VIF", "Qabf"]


def _tile(x: np.ndarray, h: int, w: int) -> np.ndarray:
    reps = (-(-h // x.shape[0]), -(-w // x.shape[1])) + ((1,) if x.ndim == 3 else ())
    return np.ascontiguousarray(np.tile(x, reps)[:h, :w])


def make_triplet(h: int, w: int) -> tuple[tuple[np.ndarray, ...], str]:
    names = ("msrs_00055D_DANet.png", "msrs_00055D_ir.png", "msrs_00055D_vis.png")
    if all((FIXTURES / n).exists() for n in names):
        from PIL import Image  # the benchmark (not the metrics package) reads files
        imgs = [np.asarray(Image.open(FIXTURES / n)) for n in names]
        return tuple(_tile(x, h, w) for x in imgs), "MSRS 00055D (DANet fused; VIS RGB), tiled"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    ir = np.clip(80 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0) + rng.normal(0, 6, (h, w)), 0, 255)
    vis = np.clip(100 + 0.05 * xx + 40 * np.sin(yy / 11.0) + rng.normal(0, 8, (h, w)), 0, 255)
    fused = 0.5 * ir + 0.5 * vis
    return tuple(np.round(x).astype(np.uint8) for x in (fused, ir, vis)), "synthetic"


def best_and_median(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up (allocations, band matrices)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def load_cddfuse(path: str):
    spec = importlib.util.spec_from_file_location("cddfuse_evaluator", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Evaluator


def cddfuse_grey(x: np.ndarray) -> np.ndarray:
    """The float32 grey image CDDFuse's ``image_read_cv2(path, 'GRAY')`` returns for this array."""
    import cv2
    bgr = (np.stack([x] * 3, -1) if x.ndim == 2 else x[:, :, ::-1]).astype(np.float32)
    return np.round(cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2GRAY))


def _one_torch_thread() -> str | None:
    """Limit torch (if installed) to one intra-op thread; return its version."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch.__version__


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="640x480,1280x1024", help="WxH list (default: %(default)s)")
    ap.add_argument("--convention", default="tang2023")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--per-metric", action="store_true", help="also time each metric alone")
    ap.add_argument("--cddfuse-evaluator", metavar="PATH",
                    help="local copy of MMIF-CDDFuse utils/Evaluator.py for the side-by-side run")
    ap.add_argument("--cddfuse-repeats", type=int, default=1)
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)

    warnings.simplefilter("ignore", metrics.MetricWarning)
    torch_version = _one_torch_thread()
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    evaluator = load_cddfuse(args.cddfuse_evaluator) if args.cddfuse_evaluator else None
    load = os.getloadavg()
    out = {"python": sys.version.split()[0], "numpy": np.__version__, "torch": torch_version,
           "machine": platform.machine(), "cpu": cpu_model(), "threads": 1,
           "load_average": load, "convention": args.convention, "results": []}
    print(f"# metrics speed, one thread, numpy {np.__version__}, torch {torch_version}, "
          f"convention {args.convention}, {cpu_model()}, load average "
          f"{' '.join(f'{x:.2f}' for x in load)}")
    for w, h in sizes:
        trip, origin = make_triplet(h, w)
        res = {"size": f"{w}x{h}", "triplet": origin}
        best, med = best_and_median(lambda: metrics.compute(*trip, convention=args.convention),
                                    args.repeats)
        res["all12_best_s"], res["all12_median_s"] = best, med
        print(f"{w}x{h} ({origin}): all 12 metrics best {best:.3f} s, median {med:.3f} s")
        if args.per_metric:
            res["per_metric_best_s"] = {}
            for key in metrics.METRICS:
                b, _ = best_and_median(lambda: metrics.compute(*trip, [key], args.convention),
                                       max(1, args.repeats // 2))
                res["per_metric_best_s"][key] = b
                print(f"    {key:8s} {b:.4f} s")
        if evaluator is not None:
            ours, _ = best_and_median(lambda: metrics.compute(*trip, SHARED_NINE, "cddfuse"),
                                      args.repeats)
            f, a, b = (cddfuse_grey(x) for x in trip)

            def run_cddfuse():
                return [evaluator.EN(f), evaluator.SF(f), evaluator.AG(f), evaluator.SD(f),
                        evaluator.CC(f, a, b), evaluator.SCD(f, a, b), evaluator.MI(f, a, b),
                        evaluator.VIFF(f, a, b), evaluator.Qabf(f, a, b)]

            theirs, _ = best_and_median(run_cddfuse, args.cddfuse_repeats)
            ref = run_cddfuse()
            mine = metrics.compute(*trip, SHARED_NINE, "cddfuse")
            maxrel = max(abs(mine[k] - float(r)) / max(1.0, abs(float(r)))
                         for k, r in zip(SHARED_NINE, ref))
            res.update(cddfuse_nine_s=theirs, ours_nine_s=ours, speedup=theirs / ours,
                       max_rel_diff_vs_cddfuse=maxrel)
            print(f"    nine shared metrics: CDDFuse Evaluator {theirs:.3f} s, ours {ours:.3f} s, "
                  f"speed-up {theirs / ours:.1f}x (max rel. difference {maxrel:.1e})")
        out["results"].append(res)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
