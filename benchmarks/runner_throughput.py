"""Throughput of ``python -m benchmark run`` (the pipelined runner), as a ratio to the ideal, on LLVIP-size pairs.

N pairs of 1280×1024 images are written as an ``llvip`` dataset folder and evaluated by the real
runner, :func:`benchmark.run` with a :class:`benchmark.RunConfig`: fuser ``mean``, all 12 metrics
(tang2023 unless ``--convention``), ``--workers`` metric workers (``--executor local``: a process
pool, ``jobs=workers``; ``dask``: a ``distributed.LocalCluster`` with that many single-threaded
workers, ``executor="dask"``), no plots, no leaderboard, a fresh cache. Everything the runner does is
inside the measured wall time: starting its worker pool, listing and hashing the dataset, loading,
fusing, the metric workers, encoding and writing every fused PNG and record, writing the result files.

ideal wall time = N × t / workers, with t the mean per-triplet metric time measured *inside the
workers in this run* (``PairOutcome.metric_s``); the figure reported is ``ratio = ideal / measured
wall time`` (1.0: the workers never wait). Because t is measured in the same run, the ratio measures
how well the runner keeps the workers busy. On a machine with as many cores as workers, the
producer and the writer (JPEG decoding, PNG encoding) take CPU time from the workers and inflate t,
which the ratio does not count against the pipeline; the script therefore also reports

* the CPU time of the runner's own process (loader, fusion, writer and main threads) per pair, next
  to the workers' CPU time per pair: the share of the cores the producer side takes;
* the time of one uncontended metric call and of one fused-PNG encoding + write
  (``benchmark.io.write_png``, at the runner's zlib level), measured in this process before the
  run, and the ratio against the uncontended call.

Usage (from the repository root)::

    python benchmarks/runner_throughput.py                      # 96 pairs, 2 workers, local pool
    python benchmarks/runner_throughput.py --pairs 24           # fixed start-up costs weigh 4x more
    python benchmarks/runner_throughput.py --pairs 48 --workers 2 --executor dask

Default N = 96: about a minute on 2 cores, still a quarter of the smallest official split the runner
is built for (MSRS, 361 pairs; LLVIP 3463). Every run pays a fixed cost that N amortises: starting
the worker processes (about 0.6 s each on 2 busy cores) and the first load and fusion before any
worker has an item, then the tail while the last items finish (together 1-1.5 s of each worker's
time, the "before first item" and "after last item" figures printed). With 24 pairs of about 0.9 s
(10.8 s of ideal time) that alone limits the ratio to about 0.89; with 96 pairs, to about 0.97.

The pairs are the 4 LLVIP pairs of ``../shared/datasets/LLVIP`` repeated under distinct names (or,
without ``../shared``, 4 embedded synthetic pairs resized to 1280×1024 and saved as JPEG). Exit
status 1 when the ratio is below ``--target`` (default 0.9). This is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

LLVIP_SIZE = (1024, 1280)   # H, W


def make_pairs(root: Path, n: int, llvip: Path | None) -> str:
    """Write ``n`` LLVIP-size pairs as ``root/LLVIP/{infrared,visible}/test/NNNNN.jpg``; return their origin."""
    from PIL import Image

    from benchmark.datasets import synthetic_pair

    ir_dir, vis_dir = root / "LLVIP" / "infrared" / "test", root / "LLVIP" / "visible" / "test"
    ir_dir.mkdir(parents=True)
    vis_dir.mkdir(parents=True)
    sources: list[tuple[Path, Path]] = []
    if llvip is not None and (llvip / "infrared" / "test").is_dir():
        names = sorted(p.name for p in (llvip / "infrared" / "test").iterdir())
        sources = [(llvip / "infrared" / "test" / s, llvip / "visible" / "test" / s) for s in names]
        origin = f"the {len(sources)} LLVIP pairs of {llvip}, repeated under distinct names"
    else:
        tmp = root / "templates"
        tmp.mkdir()
        for k in range(4):
            ir, vis = synthetic_pair(k)
            size = (LLVIP_SIZE[1], LLVIP_SIZE[0])
            ir_img = Image.fromarray(ir).resize(size, Image.BICUBIC).convert("RGB")   # LLVIP IR: 3-channel grey
            vis_img = Image.fromarray(vis).resize(size, Image.BICUBIC)
            sources.append((tmp / f"ir{k}.jpg", tmp / f"vis{k}.jpg"))
            ir_img.save(sources[-1][0], quality=95)
            vis_img.save(sources[-1][1], quality=95)
        origin = "4 embedded synthetic pairs resized to 1280×1024 (JPEG), repeated under distinct names"
    for i in range(n):
        ir_src, vis_src = sources[i % len(sources)]
        shutil.copyfile(ir_src, ir_dir / f"{i:05d}.jpg")
        shutil.copyfile(vis_src, vis_dir / f"{i:05d}.jpg")
    return origin


def uncontended(pair_dir: Path, keys: list[str], convention: str) -> tuple[float, float]:
    """Seconds of one metric call and of one fused-PNG encoding + write, in this process, nothing else running."""
    import models
    from benchmark.engine.batching import fuse_one
    from benchmark.evaluation import evaluate_pair
    from benchmark.datasets import Pair
    from benchmark.io import write_png

    pair = Pair("llvip", "00000", pair_dir / "infrared" / "test" / "00000.jpg",
                pair_dir / "visible" / "test" / "00000.jpg")
    loaded = pair.load()
    if loaded.ir_raw.shape[:2] != LLVIP_SIZE:
        raise SystemExit(f"error: expected {LLVIP_SIZE[1]}×{LLVIP_SIZE[0]} pairs, got "
                         f"{loaded.ir_raw.shape[1]}×{loaded.ir_raw.shape[0]}")
    fused = fuse_one(models.create_fuser("mean"), loaded).image
    t0 = time.perf_counter()
    evaluate_pair(fused, loaded.ir_raw, loaded.vis_raw, keys, convention)
    t_metric = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_png(pair_dir.parent / "encode-probe.png", fused)
    return t_metric, time.perf_counter() - t0


def idle_breakdown(spans: list[tuple[str, float, float]], t0: float, t1: float) -> dict:
    """Where the workers were idle, summed over workers (seconds): from the start of ``benchmark.run``
    to their first item (pool start-up, listing, the first load + fusion), between items, and from
    their last item to the end of ``benchmark.run`` (the other worker's last item, result files)."""
    out = {"before_first": 0.0, "between": 0.0, "after_last": 0.0}
    for w in sorted({s[0] for s in spans}):
        mine = sorted((a, b) for who, a, b in spans if who == w)
        out["before_first"] += max(0.0, mine[0][0] - t0)
        out["between"] += sum(max(0.0, mine[i + 1][0] - mine[i][1]) for i in range(len(mine) - 1))
        out["after_last"] += max(0.0, t1 - mine[-1][1])
    return out


def run(args) -> dict:
    import benchmark
    import benchmark.runner
    import metrics
    from benchmark.hardware import cpu_model

    keys = list(metrics.METRICS) if args.metrics is None else args.metrics
    work = Path(tempfile.mkdtemp(prefix="ivif-throughput-", dir=args.tmp))
    cluster = None
    try:
        origin = make_pairs(work / "data", args.pairs, None if args.synthetic else args.llvip)
        t_uncontended, t_png = uncontended(work / "data" / "LLVIP", keys, args.convention)
        extra = {"jobs": args.workers}
        if args.executor == "dask":
            import distributed

            cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None, worker_dashboard_address=None)
            extra = {"executor": "dask", "scheduler": cluster.scheduler_address}
        cfg = benchmark.RunConfig(datasets=["llvip"], fusers=["mean"], metrics=keys, conventions=[args.convention],
                                  data_root=str(work / "data"), out=str(work / "out"), run_id="throughput",
                                  leaderboard=None, plots=False, progress=False, max_in_flight=args.max_in_flight,
                                  batch_size=args.batch_size, **extra)
        spans: list[tuple[str, float, float]] = []     # (worker, start, end) of every metric item (epoch s)
        finish = benchmark.runner._Stream.finish

        def finish_and_note(self, res):   # observation only: the runner's own method does the work
            spans.append((res.worker, res.started_at, res.started_at + res.elapsed_s))
            return finish(self, res)

        benchmark.runner._Stream.finish = finish_and_note
        load_before = os.getloadavg()[0]
        epoch0, cpu0, t0 = time.time(), time.process_time(), time.perf_counter()
        try:
            outcome = benchmark.run(cfg, log=lambda msg: None)
        finally:
            benchmark.runner._Stream.finish = finish
        wall, runner_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        load_after = os.getloadavg()[0]
    finally:
        if cluster is not None:
            cluster.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ok = [o for o in outcome.outcomes if o.status == "ok" and o.metric_s is not None]
    if len(ok) != args.pairs:
        raise SystemExit(f"error: {len(ok)} of {args.pairs} pairs evaluated: {outcome.problems()}")
    t_worker = statistics.fmean(o.metric_s for o in ok)
    ideal = args.pairs * t_worker / args.workers
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "load_average": [load_before, load_after],
        "pairs": args.pairs, "origin": origin, "workers": args.workers, "executor": args.executor,
        "metrics": len(keys), "convention": args.convention, "wall_s": wall,
        "metric_time_in_worker_s": {"mean": t_worker, "min": min(o.metric_s for o in ok),
                                    "max": max(o.metric_s for o in ok)},
        "metric_cpu_in_worker_s": statistics.fmean(o.metric_cpu_s for o in ok),
        "worker_processes": len({o.worker for o in ok}),
        "runner_process_cpu_per_pair_s": runner_cpu / args.pairs,
        "metric_time_uncontended_s": t_uncontended, "png_encode_uncontended_s": t_png,
        "ideal_s": ideal, "ratio": ideal / wall,
        "ratio_vs_uncontended": args.pairs * t_uncontended / args.workers / wall,
        "pairs_per_s": args.pairs / wall,
        "worker_idle_s": idle_breakdown(spans, epoch0, epoch0 + wall),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=96, help="number of 1280×1024 pairs (default 96)")
    p.add_argument("--workers", type=int, default=2, help="metric workers (default 2)")
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument("--max-in-flight", type=int, default=None, help="pairs in flight (default 2 × workers)")
    p.add_argument("--batch-size", type=int, default=1, help="fusion batch size (default 1)")
    p.add_argument("--metrics", nargs="+", default=None, help="metric keys (default: all 12)")
    p.add_argument("--convention", default="tang2023")
    p.add_argument("--llvip", type=Path, default=REPO_ROOT.parent / "shared" / "datasets" / "LLVIP",
                   help="LLVIP folder with infrared/test and visible/test (default ../shared/datasets/LLVIP)")
    p.add_argument("--synthetic", action="store_true", help="use resized synthetic pairs even if LLVIP is there")
    p.add_argument("--tmp", type=Path, default=None, help="where to write the pairs and outputs (default: $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep the generated pairs and outputs")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    p.add_argument("--target", type=float, default=0.9, help="exit 1 below this ratio (default 0.9)")
    args = p.parse_args(argv)
    if args.pairs < 1 or args.workers < 2:
        p.error(f"--pairs must be >= 1 and --workers >= 2 (one worker runs in this process), "
                f"got {args.pairs} and {args.workers}")
    r = run(args)
    print(f"CPU: {r['cpu']} ({r['cores']} cores); 1-min load average before/after the run: "
          f"{r['load_average'][0]:.2f} / {r['load_average'][1]:.2f}")
    print(f"benchmark.run: {r['pairs']} pairs 1280×1024 ({r['origin']}), fuser mean, {r['metrics']} metrics "
          f"({r['convention']}), {r['workers']} workers ({r['executor']}, {r['worker_processes']} processes seen)")
    print(f"  wall time of benchmark.run       {r['wall_s']:8.2f} s   ({r['pairs_per_s']:.3f} pairs/s; incl. "
          f"pool start-up and result files)")
    t = r["metric_time_in_worker_s"]
    print(f"  metric time per triplet          {t['mean']:8.3f} s   in the workers, this run (min {t['min']:.3f}, "
          f"max {t['max']:.3f}; CPU {r['metric_cpu_in_worker_s']:.3f} s)")
    print(f"  ideal = pairs × time / workers   {r['ideal_s']:8.2f} s")
    print(f"  RATIO to ideal                   {r['ratio']:8.3f}     (target {args.target})")
    print(f"  uncontended metric call          {r['metric_time_uncontended_s']:8.3f} s   -> ratio "
          f"{r['ratio_vs_uncontended']:.3f}")
    print(f"  runner process CPU per pair      {r['runner_process_cpu_per_pair_s']:8.3f} s   (loader, fusion, "
          f"PNG encoding + writes, main thread); one PNG encoding uncontended {r['png_encode_uncontended_s']:.3f} s")
    idle = r["worker_idle_s"]
    print(f"  worker idle (both workers)       before first item {idle['before_first']:.2f} s, between items "
          f"{idle['between']:.2f} s, after last item {idle['after_last']:.2f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0 if r["ratio"] >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
