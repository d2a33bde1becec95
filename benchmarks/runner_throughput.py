"""Throughput of the pipelined evaluation engine, as a ratio to the ideal, on LLVIP-size pairs.

N pairs of 1280×1024 images go through the engine the runner is built on (``benchmark.engine``):

* producer: a loader thread reads and decodes the next pairs (``prefetch_map``) while a fusion
  thread fuses them with ``mean`` (``fuse_stream``, behind a bounded queue, ``background``);
* executor: ``--workers`` metric workers (``--executor local``: a process pool; ``dask``: a
  ``distributed.LocalCluster``) compute all 12 metrics of each (fused, IR, VIS) triplet with
  :func:`benchmark.evaluation.evaluate_pair`, receiving the arrays (no file is re-read), at most
  ``--max-in-flight`` items in flight;
* writer: a background writer thread encodes and writes each fused PNG as soon as the pair is fused,
  and its JSON record (queued after the PNG, :func:`benchmark.engine.writer.after`) as soon as its
  metrics arrive; nothing waits for the disk but the writer.

ideal wall time = N × t / workers, with t the mean per-triplet metric time measured *inside the
workers in this run*; the figure reported is ``ratio = ideal / measured wall time`` (1.0: the workers
never wait). Because t is measured in the same run, the ratio measures how well the pipeline keeps
the workers busy; on a machine with as many cores as workers, the producer and the writer (JPEG
decoding, PNG encoding) take CPU time from the workers and inflate t, which the ratio does not
count against the pipeline. A second ratio against the per-triplet time of an uncontended call
(measured once in this process before the run) shows that cost.

Usage (from the repository root)::

    python benchmarks/runner_throughput.py                      # 24 pairs, 2 workers, local pool
    python benchmarks/runner_throughput.py --pairs 48 --workers 2 --executor dask

The pairs are the 4 LLVIP pairs of ``../shared/datasets/LLVIP`` repeated under distinct names (or,
without ``../shared``, the embedded synthetic pairs resized to 1280×1024 and saved as JPEG). Exit
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
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

LLVIP_SIZE = (1024, 1280)   # H, W


def make_pairs(folder: Path, n: int, llvip: Path | None) -> tuple[list, str]:
    """Write ``n`` LLVIP-size pairs below ``folder`` (infrared/, visible/); return the Pairs and their origin."""
    from PIL import Image

    from benchmark.datasets import Pair, synthetic_pair

    (folder / "infrared").mkdir(parents=True)
    (folder / "visible").mkdir(parents=True)
    sources: list[tuple[Path, Path]] = []
    if llvip is not None and (llvip / "infrared" / "test").is_dir():
        names = sorted(p.name for p in (llvip / "infrared" / "test").iterdir())
        sources = [(llvip / "infrared" / "test" / s, llvip / "visible" / "test" / s) for s in names]
        origin = f"the {len(sources)} LLVIP pairs of {llvip}, repeated under distinct names"
    else:
        tmp = folder / "templates"
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
    pairs = []
    for i in range(n):
        ir_src, vis_src = sources[i % len(sources)]
        name = f"{i:05d}"
        shutil.copyfile(ir_src, folder / "infrared" / f"{name}.jpg")
        shutil.copyfile(vis_src, folder / "visible" / f"{name}.jpg")
        pairs.append(Pair("throughput", name, folder / "infrared" / f"{name}.jpg", folder / "visible" / f"{name}.jpg"))
    first = pairs[0].raw()[0]
    if first.shape[:2] != LLVIP_SIZE:
        raise SystemExit(f"error: expected {LLVIP_SIZE[1]}×{LLVIP_SIZE[0]} pairs, "
                         f"got {first.shape[1]}×{first.shape[0]}")
    return pairs, origin


class _Clock:
    """Summed busy time of a stage that runs on one thread."""

    def __init__(self):
        self.total = 0.0
        self.lock = threading.Lock()

    def timed(self, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.total += time.perf_counter() - t0
        return wrapper


def idle_breakdown(spans: list[tuple[str, float, float]], t0: float, last_result: float, t1: float) -> dict:
    """Where the workers were idle, summed over workers (seconds): before their first item, between
    items, after their last item until the last result arrived, and while the writer finished."""
    out = {"before_first": 0.0, "between": 0.0, "after_last": 0.0, "writer_tail": 0.0}
    for w in sorted({s[0] for s in spans}):
        mine = sorted((a, b) for who, a, b in spans if who == w)
        out["before_first"] += max(0.0, mine[0][0] - t0)
        out["between"] += sum(max(0.0, mine[i + 1][0] - mine[i][1]) for i in range(len(mine) - 1))
        out["after_last"] += max(0.0, last_result - mine[-1][1])
        out["writer_tail"] += max(0.0, t1 - last_result)
    return out


def build_executor(kind: str, workers: int, max_in_flight: int | None):
    from benchmark.engine import make_executor

    if kind != "dask":
        return make_executor(kind, jobs=workers, max_in_flight=max_in_flight), None
    import distributed

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, worker_dashboard_address=None)
    return make_executor("dask", cluster=cluster, max_in_flight=max_in_flight), cluster


def run(args) -> dict:
    import metrics
    import models
    from benchmark.engine.batching import fuse_stream
    from benchmark.hardware import cpu_model
    from benchmark.engine.loader import background, prefetch_map
    from benchmark.engine.writer import BackgroundWriter, after
    from benchmark.evaluation import evaluate_pair
    from benchmark.io import write_png
    from ivif_toolbox import atomic_write_json

    keys = list(metrics.METRICS) if args.metrics is None else args.metrics
    work = Path(tempfile.mkdtemp(prefix="ivif-throughput-", dir=args.tmp))
    try:
        pairs, origin = make_pairs(work / "data", args.pairs, None if args.synthetic else args.llvip)
        out = work / "out"
        fuser = models.create_fuser("mean")

        # uncontended reference: one triplet in this process, nothing else running in it
        ref = pairs[0].load()
        fused0 = next(fuse_stream(fuser, [("ref", ref)]))[2].image
        t0 = time.perf_counter()
        evaluate_pair(fused0, ref.ir_raw, ref.vis_raw, keys, args.convention)
        t_uncontended = time.perf_counter() - t0

        t0 = time.perf_counter()
        executor, cluster = build_executor(args.executor, args.workers, args.max_in_flight)
        warm = [(f"warm-{k}", (fused0[:200, :200], ref.ir_raw[:200, :200], ref.vis_raw[:200, :200], keys,
                                args.convention)) for k in range(2 * args.workers)]
        list(executor.map_unordered(evaluate_pair, warm))   # start the workers, import the metrics
        t_startup = time.perf_counter() - t0

        load_clock, fuse_clock, write_clock = _Clock(), _Clock(), _Clock()
        writer = BackgroundWriter(max_queued=args.writer_queue, threads=args.writer_threads)
        write_png_t = write_clock.timed(write_png)
        write_json_t = write_clock.timed(atomic_write_json)
        png_jobs = {}   # pair -> its PNG write job, from fusion until its record is queued after it

        def produce():
            loaded = prefetch_map(load_clock.timed(lambda p: p.load()), pairs, depth=args.prefetch)
            stream = fuse_stream(fuser, ((x.item.name, x.value) for x in loaded), batch_size=args.batch_size)
            it = iter(stream)
            while True:
                t = time.perf_counter()
                nxt = next(it, None)
                fuse_clock.total += time.perf_counter() - t   # only this thread adds to it
                if nxt is None:
                    return
                name, pair, fused = nxt
                png_jobs[name] = writer.submit(write_png_t, out / "fused" / f"{name}.png", fused.image)
                yield name, (fused.image, pair.ir_raw, pair.vis_raw, keys, args.convention)

        elapsed, cpu, spans, done = [], [], [], 0
        load_before = os.getloadavg()[0]
        epoch0, t0 = time.time(), time.perf_counter()
        for res in executor.map_unordered(evaluate_pair, background(produce(), depth=args.fuse_ahead)):
            if not res.ok:
                raise SystemExit(f"error: pair {res.key}: {res.error}")
            elapsed.append(res.elapsed_s)
            cpu.append(res.cpu_s)
            spans.append((res.worker, res.started_at, res.started_at + res.elapsed_s))
            done += 1
            writer.submit(after, png_jobs.pop(res.key), write_json_t, out / "records" / f"{res.key}.json",
                          {"pair": res.key, "metrics": res.value, "metric_time_s": res.elapsed_s})
        last_result = time.time()
        writer.close()
        wall = time.perf_counter() - t0
        epoch1 = epoch0 + wall
        max_in_flight = executor.max_in_flight
        executor.close()
        if cluster is not None:
            cluster.close()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    t_worker = statistics.fmean(elapsed)
    ideal = args.pairs * t_worker / args.workers
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "load_average": [load_before, os.getloadavg()[0]],
        "pairs": args.pairs,
        "origin": origin, "workers": args.workers, "executor": args.executor,
        "max_in_flight": max_in_flight, "metrics": len(keys), "convention": args.convention,
        "wall_s": wall, "startup_s": t_startup,
        "metric_time_in_worker_s": {"mean": t_worker, "min": min(elapsed), "max": max(elapsed)},
        "metric_cpu_in_worker_s": statistics.fmean(cpu), "metric_time_uncontended_s": t_uncontended,
        "ideal_s": ideal, "ratio": ideal / wall,
        "ratio_vs_uncontended": args.pairs * t_uncontended / args.workers / wall,
        "producer_busy_s": {"load": load_clock.total, "fuse": fuse_clock.total, "write": write_clock.total},
        "pairs_per_s": done / wall,
        "worker_idle_s": idle_breakdown(spans, epoch0, last_result, epoch1),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=24, help="number of 1280×1024 pairs (default 24)")
    p.add_argument("--workers", type=int, default=2, help="metric workers (default 2)")
    p.add_argument("--executor", choices=("local", "dask", "serial"), default="local")
    p.add_argument("--max-in-flight", type=int, default=None, help="items in flight (default 2 × workers)")
    p.add_argument("--batch-size", type=int, default=1, help="fusion batch size (default 1)")
    p.add_argument("--prefetch", type=int, default=4, help="pairs read ahead (default 4)")
    p.add_argument("--fuse-ahead", type=int, default=2, help="fused pairs queued for the executor (default 2)")
    p.add_argument("--writer-queue", type=int, default=16, help="write jobs queued (default 16)")
    p.add_argument("--writer-threads", type=int, default=1, help="writer threads (default 1)")
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
    if args.pairs < 1 or args.workers < 1:
        p.error(f"--pairs and --workers must be >= 1, got {args.pairs} and {args.workers}")
    if args.executor == "serial" and args.workers != 1:
        p.error("--executor serial runs one worker (this process): use --workers 1")
    r = run(args)
    busy = r["producer_busy_s"]
    print(f"CPU: {r['cpu']} ({r['cores']} cores); 1-min load average before/after the run: "
          f"{r['load_average'][0]:.2f} / {r['load_average'][1]:.2f}")
    print(f"{r['pairs']} pairs 1280×1024 ({r['origin']}), fuser mean, {r['metrics']} metrics "
          f"({r['convention']}), {r['workers']} workers ({r['executor']}), max in flight {r['max_in_flight']}")
    print(f"  wall time                      {r['wall_s']:8.2f} s   ({r['pairs_per_s']:.3f} pairs/s; "
          f"worker start-up {r['startup_s']:.2f} s not included)")
    t = r["metric_time_in_worker_s"]
    print(f"  metric time per triplet        {t['mean']:8.3f} s   in the workers, this run (min {t['min']:.3f}, "
          f"max {t['max']:.3f}; CPU {r['metric_cpu_in_worker_s']:.3f} s)")
    print(f"  ideal = pairs × time / workers {r['ideal_s']:8.2f} s")
    print(f"  RATIO to ideal                 {r['ratio']:8.3f}     (target {args.target})")
    print(f"  uncontended time per triplet   {r['metric_time_uncontended_s']:8.3f} s   (one call, before the run) "
          f"-> ratio {r['ratio_vs_uncontended']:.3f}")
    idle = r["worker_idle_s"]
    print(f"  worker idle time (all workers) before first item {idle['before_first']:.2f} s, between items "
          f"{idle['between']:.2f} s, after last item {idle['after_last']:.2f} s, while the writer finished "
          f"{idle['writer_tail']:.2f} s")
    print(f"  producer/writer busy time      load {busy['load']:.2f} s, fuse {busy['fuse']:.2f} s (incl. waiting "
          f"for loads), write {busy['write']:.2f} s (PNG + JSON)")
    if args.json is not None:
        args.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0 if r["ratio"] >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
