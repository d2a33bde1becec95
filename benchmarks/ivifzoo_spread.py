"""How far IVIF_ZOO's MS-SSIM and VIF move with the torch kernels that compute them.

IVIF_ZOO's MS-SSIM and VIF are float32 PyTorch code whose values in flat regions are float32
rounding noise, so they depend on the kernels torch runs. ``metrics`` runs the same torch
operations (``metrics/_torch_f32.py``); this script computes them on every ``ivifzoo`` fixture
triplet under kernel selections that other machines make - oneDNN's ISA
(``ONEDNN_MAX_CPU_ISA``), ATen's vectorised CPU code (``ATEN_CPU_CAPABILITY``), oneDNN on or off
(off: PyTorch's native im2col + GEMM convolutions), MKL's code path (``MKL_CBWR``), one or two
threads - each in a fresh process, and prints, per metric, the largest relative deviation from the
fixture values (computed by IVIF_ZOO's code with torch 2.13 on an AMD EPYC CPU) and from this
machine's default run. The conformance tolerance of these records
(``tests/metrics/test_conformance.py``, ``IVIFZOO_TORCH_RTOL``) is derived from this table.

Usage::

    python benchmarks/ivifzoo_spread.py                    # all variants (several minutes)
    python benchmarks/ivifzoo_spread.py --variants default avx2 --json spread.json
    python benchmarks/ivifzoo_spread.py --fixtures tests/metrics/conformance   # in-repo subset

Fixtures: ``../shared/fixtures/metrics`` (or ``$IVIF_SHARED/fixtures/metrics``) by default.
GPU kernels (cuDNN) are not among the variants.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = (Path(os.environ.get("IVIF_SHARED", ROOT.parent / "shared"))
                    / "fixtures" / "metrics")
METRICS = {"MS_SSIM": "MS-SSIM", "VIF": "VIF"}  # fixture name -> metrics key

# name -> (environment, torch options in the child): kernel selections other machines make
VARIANTS = {
    "default-1t": ({}, {"threads": 1}),
    "default-2t": ({}, {"threads": 2}),
    "onednn-avx512": ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, {"threads": 1}),
    "onednn-avx2": ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, {"threads": 1}),
    "onednn-avx": ({"ONEDNN_MAX_CPU_ISA": "AVX"}, {"threads": 1}),
    "onednn-sse41": ({"ONEDNN_MAX_CPU_ISA": "SSE41"}, {"threads": 1}),
    "aten-default": ({"ATEN_CPU_CAPABILITY": "default"}, {"threads": 1}),
    "aten-avx2": ({"ATEN_CPU_CAPABILITY": "avx2"}, {"threads": 1}),
    "aten-avx512": ({"ATEN_CPU_CAPABILITY": "avx512"}, {"threads": 1}),
    "avx2-machine": ({"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
                     {"threads": 1}),
    "avx2-machine-2t": ({"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
                        {"threads": 2}),
    "sse-machine": ({"ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"},
                    {"threads": 1}),
    "mkldnn-off": ({}, {"threads": 1, "mkldnn": False}),
    "mkldnn-off-aten-default": ({"ATEN_CPU_CAPABILITY": "default"},
                                {"threads": 1, "mkldnn": False}),
    "mkl-compatible": ({"MKL_CBWR": "COMPATIBLE"}, {"threads": 1}),
}


def load_records(fixtures: Path) -> dict[str, list[dict]]:
    """ivifzoo MS_SSIM / VIF records of ``reference.json``, grouped by triplet."""
    groups: dict[str, list[dict]] = {}
    for rec in json.loads((fixtures / "reference.json").read_text()):
        if rec["convention"] == "ivifzoo" and rec["metric"] in METRICS:
            groups.setdefault(rec["triplet"], []).append(rec)
    return dict(sorted(groups.items()))


def child(fixtures: Path, options: dict) -> None:
    """Compute the two metrics on every triplet and print {triplet: {metric: value}} as JSON."""
    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(options.get("threads", 1))
    if not options.get("mkldnn", True):
        torch.backends.mkldnn.enabled = False
    sys.path.insert(0, str(ROOT))
    import metrics

    warnings.simplefilter("ignore", metrics.MetricWarning)
    out = {}
    for triplet, recs in load_records(fixtures).items():
        r0 = recs[0]
        imgs = [np.asarray(Image.open(fixtures / r0[k])) for k in ("fused", "ir", "vis")]
        out[triplet] = metrics.compute(*imgs, sorted(set(METRICS.values())), "ivifzoo")
    info = {"capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.enabled}
    print(json.dumps({"values": out, "info": info}))


def run_variant(name: str, fixtures: Path) -> dict:
    env_extra, options = VARIANTS[name]
    env = dict(os.environ, **env_extra, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, __file__, "--child", json.dumps(options),
                          "--fixtures", str(fixtures)], env=env, capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"error: variant {name} failed:\n{res.stderr}")
    out = json.loads(res.stdout)
    out["seconds"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                    help="folder with reference.json and the images (default: %(default)s)")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--json", metavar="PATH", help="also write every value as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        child(args.fixtures, json.loads(args.child))
        return 0
    if not (args.fixtures / "reference.json").exists():
        print(f"error: no reference.json in {args.fixtures} (pass --fixtures DIR)", file=sys.stderr)
        return 2
    records = load_records(args.fixtures)
    import torch

    sys.path.insert(0, str(ROOT))
    from metrics._torch_f32 import cpu_model
    print(f"# IVIF_ZOO MS-SSIM / VIF under torch kernel variants: {len(records)} triplets of "
          f"{args.fixtures}; torch {torch.__version__}, {cpu_model()} ({platform.machine()}), "
          f"fresh process per variant")
    runs = {name: run_variant(name, args.fixtures) for name in args.variants}
    base = runs.get("default-1t") or next(iter(runs.values()))
    head = ("variant", "capability", "MS-SSIM vs fixture", "VIF vs fixture", "MS-SSIM vs default",
            "VIF vs default", "time")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    overall = {m: 0.0 for m in METRICS.values()}
    for name, run in runs.items():
        fix = {m: 0.0 for m in METRICS.values()}
        own = {m: 0.0 for m in METRICS.values()}
        for triplet, recs in records.items():
            for rec in recs:
                key = METRICS[rec["metric"]]
                v = run["values"][triplet][key]
                fix[key] = max(fix[key], abs(v - rec["value"]) / abs(rec["value"]))
                b = base["values"][triplet][key]
                own[key] = max(own[key], abs(v - b) / abs(b))
        for key in overall:
            overall[key] = max(overall[key], fix[key])
        print(f"| {name} | {run['info']['capability']} | {fix['MS-SSIM']:.1e} | {fix['VIF']:.1e} "
              f"| {own['MS-SSIM']:.1e} | {own['VIF']:.1e} | {run['seconds']:.0f} s |")
    print(f"largest relative deviation from the fixture values over all variants: "
          f"MS-SSIM {overall['MS-SSIM']:.2e}, VIF {overall['VIF']:.2e}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
