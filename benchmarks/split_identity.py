"""Cost of checking a dataset folder against its split manifest, with and without the file-hash cache.

For one dataset of the registry (default: RoadScene, 221 pairs, in ``../shared/datasets-full``):

* **cold**: a new :class:`~benchmark.hash_cache.FileHashCache` with an empty cache file: every file is
  hashed, then the cache is saved (what the first ``run`` / ``validate`` on a folder pays);
* **warm**: a new cache object loading that file (what every later run pays: load the JSON, ``stat``
  each file, no hashing);
* **hash rate**: sha256 over the folder's files read from disk (MB/s, best of ``--repeats``) and over an
  in-memory buffer (the CPU-bound rate);
* **scale**: the warm cost for ``--scale`` small files (default 6926, the file count of LLVIP's 3463-pair
  test split), to show that a folder that size is not rehashed every run.

The operating system's file cache is not dropped (that needs root): "cold" means "no hash cache", and the
files may come from memory. The figures depend on the machine; they are printed, never asserted.

Usage (from the repository root)::

    python benchmarks/split_identity.py
    python benchmarks/split_identity.py --dataset tno --data-root ../shared/datasets-full --repeats 5
"""
from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from benchmark.datasets import get_dataset
    from benchmark.hash_cache import FileHashCache
    from ivif_toolbox import sha256_file
    from benchmark.splits import check_identity

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="roadscene", help="dataset key (default roadscene)")
    ap.add_argument("--data-root", default=str(REPO_ROOT.parent / "shared" / "datasets-full"),
                    help="folder holding the dataset (default ../shared/datasets-full)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions; the best is reported (default 3)")
    ap.add_argument("--scale", type=int, default=6926, help="files for the warm-cost-at-scale figure (0: skip)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats: expected >= 1, got {args.repeats}")

    spec = get_dataset(args.dataset)
    pairs = [(p.name, p.ir_path, p.vis_path) for p in spec.listing(args.data_root).pairs]
    files = [f for _, ir, vis in pairs for f in (ir, vis)]
    total_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    print(f"{spec.key}: {len(pairs)} pairs, {len(files)} files, {total_mb:.1f} MB at {args.data_root}")

    with tempfile.TemporaryDirectory() as tmp:
        def cold() -> None:
            store = Path(tmp) / "cold.json"
            store.unlink(missing_ok=True)
            cache = FileHashCache(store, racy_window_s=0)
            ident = check_identity(spec.split, pairs, cache, official_count=spec.official_count)
            cache.save()
            cold.text = ident.text

        def warm() -> None:
            cache = FileHashCache(Path(tmp) / "cold.json", racy_window_s=0)
            check_identity(spec.split, pairs, cache, official_count=spec.official_count)
            warm.hits = cache.hits

        t_cold = _best(cold, args.repeats)
        t_warm = _best(warm, args.repeats)
        print(f"identity: {cold.text}")
        print(f"cold (no hash cache, hash + save): {t_cold * 1e3:8.1f} ms")
        print(f"warm (load cache, stat only)     : {t_warm * 1e3:8.1f} ms  ({warm.hits} hits; "
              f"{t_cold / t_warm:.0f}x faster)")

        t_files = _best(lambda: [sha256_file(f) for f in files], args.repeats)
        buf = os.urandom(64 << 20)
        t_mem = _best(lambda: hashlib.sha256(buf).hexdigest(), args.repeats)
        print(f"sha256 over the files: {total_mb / t_files:8.0f} MB/s;  in memory (64 MiB): "
              f"{len(buf) / 1e6 / t_mem:8.0f} MB/s")

        if args.scale:
            folder = Path(tmp) / "scale"
            folder.mkdir()
            many = []
            for i in range(args.scale):
                f = folder / f"{i:05d}.bin"
                f.write_bytes(i.to_bytes(4, "little"))
                os.utime(f, ns=(1_600_000_000 * 10**9,) * 2)
                many.append(f)
            with FileHashCache(Path(tmp) / "scale.json") as cache:
                for f in many:
                    cache(f)

            def warm_scale() -> None:
                cache = FileHashCache(Path(tmp) / "scale.json")
                for f in many:
                    cache(f)
                warm_scale.misses = cache.misses

            t_scale = _best(warm_scale, args.repeats)
            print(f"warm lookup of {args.scale} files (load + stat): {t_scale * 1e3:8.1f} ms "
                  f"({t_scale / args.scale * 1e6:.1f} µs per file, {warm_scale.misses} rehashed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
