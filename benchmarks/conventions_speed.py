"""Time all five conventions in one pass (``metrics.compute_many``) against tang2023 alone, one core.

Usage::

    python benchmarks/conventions_speed.py [--repeats 7] [--breakdown] [--json PATH]

Target (issue 13): all five conventions, all 12 metrics, in one pass <= 2.5x the cost of tang2023
alone per 640x480 triplet. Also printed: the five conventions computed separately (five
``metrics.compute`` calls), for the saving of the shared pass.

Triplets (640x480): the MSRS 00055D fixture triplet of ``tests/metrics/conformance`` (grey IR and
fused image, RGB visible image; as ``benchmarks/metrics_speed.py``), and the same triplet with the
visible image converted to grey (as TNO/RoadScene-style grey pairs are stored). Every timing is the
best of ``--repeats`` rounds; in each round the variants run back to back (interleaved), so a load
change on a shared machine affects them alike; medians are printed too.

One core: the BLAS/OpenMP thread variables are set to 1 before numpy is imported and torch (used by
ivifzoo's MS-SSIM and VIF) is limited to one intra-op thread.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # one core, set before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import metrics  # noqa: E402
from metrics._torch_f32 import cpu_model  # noqa: E402
from metrics._triplet import Triplet  # noqa: E402
from metrics_speed import _one_torch_thread, make_triplet  # noqa: E402


def _variants(trip) -> dict:
    convs = list(metrics.CONVENTIONS)
    return {
        "tang2023 alone": lambda: metrics.compute(*trip, convention="tang2023"),
        "5 conventions, separate calls": lambda: [metrics.compute(*trip, convention=c)
                                                  for c in convs],
        "5 conventions, one pass": lambda: metrics.compute_many(*trip, conventions=convs),
    }


def measure(trip, repeats: int) -> dict:
    variants = _variants(trip)
    for fn in variants.values():  # warm-up (band matrices, torch probes)
        fn()
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: {"best_s": min(ts), "median_s": statistics.median(ts)}
            for name, ts in times.items()}


def breakdown(trip, repeats: int) -> dict:
    """What each convention adds inside one pass: the conventions in ``metrics.CONVENTIONS`` order,
    each metric on its own (``TripletWork.compute([key], c)``, so a convention's metric is charged only
    for the work no earlier convention or metric did), best of ``repeats`` rounds; seconds by
    convention then metric."""
    convs, keys = list(metrics.CONVENTIONS), list(metrics.METRICS)
    best: dict = {c: dict.fromkeys(keys, float("inf")) for c in convs}
    for r in range(repeats + 1):        # round 0: warm-up
        work = metrics.TripletWork(*trip)
        for c in convs:
            for k in keys:
                t0 = time.perf_counter()
                work.compute([k], c)
                if r:
                    best[c][k] = min(best[c][k], time.perf_counter() - t0)
    return best


def _print_breakdown(best: dict, alone_s: float) -> None:
    print(f"    what each convention adds in one pass (best of rounds; tang2023 alone {alone_s:.3f} s):")
    for c, per_metric in best.items():
        total = sum(per_metric.values())
        top = sorted(per_metric.items(), key=lambda kv: -kv[1])[:4]
        print(f"      {c:9s} {total:.3f} s ({total / alone_s:.2f}x)   largest: "
              + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in top))
    total = sum(sum(v.values()) for v in best.values())
    print(f"      sum       {total:.3f} s ({total / alone_s:.2f}x)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time what each convention and metric adds inside one pass")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", metrics.MetricWarning)
    torch_version = _one_torch_thread()
    trip, origin = make_triplet(480, 640)
    grey_vis = Triplet(*trip, "tang2023").grey("vis")
    grey_trip = (trip[0], trip[1], grey_vis.astype(np.uint8))
    load_before = os.getloadavg()
    out = {"cpu": cpu_model(), "numpy": np.__version__, "torch": torch_version, "threads": 1,
           "load_average_before": load_before, "results": {}}
    print(f"# five conventions in one pass, one thread, {cpu_model()}, numpy {np.__version__}, "
          f"torch {torch_version}, load average {' '.join(f'{x:.2f}' for x in load_before)}")
    for label, t in ((f"640x480 {origin}", trip), ("640x480 same, visible image grey", grey_trip)):
        res = measure(t, args.repeats)
        base = res["tang2023 alone"]
        for name, r in res.items():
            r["ratio_best"] = r["best_s"] / base["best_s"]
            r["ratio_median"] = r["median_s"] / base["median_s"]
        out["results"][label] = res
        print(label)
        for name, r in res.items():
            print(f"    {name:32s} best {r['best_s']:.3f} s ({r['ratio_best']:.2f}x), "
                  f"median {r['median_s']:.3f} s ({r['ratio_median']:.2f}x)")
        if args.breakdown:
            res["breakdown_s"] = breakdown(t, args.repeats)
            _print_breakdown(res["breakdown_s"], base["best_s"])
    out["load_average_after"] = os.getloadavg()
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in out['load_average_after'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
