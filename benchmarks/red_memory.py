"""Peak memory of one RED training step with and without reversible (memory-saving) backprop.

RED (Xu et al., arXiv 2601.20260, Table 2) reports 7.14 GB of training memory with reversible fusion
and 20.1 GB without (128×128 crops, batch 4, T = 2, RTX A6000). This script measures the same
step for this implementation: forward, loss (``models.red.losses``), backward and one Adam step of
the real trainer (``models.red.train``).

* CPU: each configuration runs in a **fresh subprocess** and reports its peak resident set size
  (``ru_maxrss``), sampled after import, model construction, forward, backward and the optimiser
  step; the "growth" figure subtracts the RSS before the forward. The children run with
  ``MALLOC_MMAP_THRESHOLD_=131072`` (unless set) so that glibc returns freed tensor memory to the
  OS and the RSS peak follows live memory rather than allocator high-water marks.
* CUDA: ``torch.cuda.reset_peak_memory_stats`` / ``max_memory_allocated`` around the step (also a
  fresh subprocess per configuration), optionally under fp16 autocast + GradScaler (``--amp``).

Examples::

    python benchmarks/red_memory.py                          # full RED, 128², batch 4, T=2, CPU
    python benchmarks/red_memory.py --variant tiny --modes both,outer,inner,none
    python benchmarks/red_memory.py --device cuda --amp --json red_mem.json
    python benchmarks/red_memory.py --inference 480x640 --threads 2   # one fuser.run, time + peak RSS

Not a test: it takes minutes on a CPU. Results are recorded in ``benchmarks/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

MODES = ("both", "outer", "inner", "none")


def _rss_mb() -> float:
    """Peak RSS of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import torch

    torch.set_num_threads(args.threads)
    import models.red  # noqa: F401
    from models.red.train import RedTinyTrainer, RedTrainConfig, RedTrainer

    rec: dict = {"mode": args.mode, "variant": args.variant, "size": args.size, "batch": args.batch,
                 "steps": args.steps, "device": args.device, "amp": bool(args.amp), "threads": args.threads}
    cuda = args.device.startswith("cuda")
    rec["rss_after_import_mb"] = _rss_mb()
    cls = RedTrainer if args.variant == "full" else RedTinyTrainer
    cfg = RedTrainConfig(steps=args.steps, reversible=args.mode != "none",
                         reversible_levels=args.mode if args.mode != "none" else "both",
                         sd_weights=args.sd_weights or "", seed=0, amp=bool(args.amp))
    trainer = cls(cfg, device=args.device)  # without --sd-weights it warns (memory does not depend on init)
    loss_mod = trainer.build_loss_module("train").to(args.device).train()
    params = [p for p in loss_mod.parameters() if p.requires_grad]
    opt, _ = trainer.configure_optimizer("train", params)
    scaler = torch.amp.GradScaler("cuda", enabled=bool(args.amp) and cuda)
    g = torch.Generator().manual_seed(0)
    ir = torch.rand(args.batch, 1, args.size, args.size, generator=g).to(args.device)
    vis = torch.rand(args.batch, 1, args.size, args.size, generator=g).to(args.device)
    rec["parameters"] = sum(p.numel() for p in params)
    rec["rss_before_step_mb"] = _rss_mb()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        rec["cuda_allocated_before_step_mb"] = torch.cuda.memory_allocated() / 2**20
    t0 = time.perf_counter()
    with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.float16, enabled=bool(args.amp) and cuda):
        losses = loss_mod(ir, vis)
    if cuda:
        torch.cuda.synchronize()
        rec["cuda_peak_forward_mb"] = torch.cuda.max_memory_allocated() / 2**20
    rec["rss_after_forward_mb"] = _rss_mb()
    scaler.scale(losses["loss"]).backward()
    if cuda:
        torch.cuda.synchronize()
        rec["cuda_peak_forward_backward_mb"] = torch.cuda.max_memory_allocated() / 2**20
    rec["rss_after_backward_mb"] = _rss_mb()
    scaler.step(opt)
    scaler.update()
    if cuda:
        torch.cuda.synchronize()
        rec["cuda_peak_step_mb"] = torch.cuda.max_memory_allocated() / 2**20
    rec["seconds"] = time.perf_counter() - t0
    rec["rss_peak_mb"] = _rss_mb()
    rec["loss"] = float(losses["loss"].detach())
    rec["rss_activation_mb"] = rec["rss_after_backward_mb"] - rec["rss_before_step_mb"]
    return rec


def _child_inference(args: argparse.Namespace) -> dict:
    """One ``fuser.run`` of the registered fuser on a random H×W pair: seconds and peak RSS."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import models.red  # noqa: F401
    from models import create_fuser

    h, w = (int(v) for v in args.inference.lower().split("x"))
    fuser = create_fuser("red" if args.variant == "full" else "red-tiny", steps=args.steps, device=args.device)
    rng = np.random.default_rng(0)
    ir, vis = rng.random((h, w), dtype=np.float32), rng.random((h, w), dtype=np.float32)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    out = fuser.run(ir, vis)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    return {"variant": args.variant, "height": h, "width": w, "steps": args.steps, "device": args.device,
            "threads": args.threads, "seconds": time.perf_counter() - t0, "rss_before_mb": rss0,
            "rss_peak_mb": _rss_mb(), "output_shape": list(out.shape)}


def _run_child(argv: list[str], mode: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--mode", mode] + argv
    env = dict(os.environ)
    # glibc: serve every allocation >= 128 KiB by mmap and return it on free, so that the RSS peak follows
    # live tensor memory instead of allocator high-water marks (no effect on other C libraries)
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(128 * 1024))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)  # the child's stderr goes to ours
    if proc.returncode != 0:
        raise RuntimeError(f"child for mode {mode!r} failed (exit {proc.returncode}); see its stderr above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(recs: list[dict], cuda: bool) -> str:
    key = "cuda_peak_step_mb" if cuda else "rss_peak_mb"
    base = next((r for r in recs if r["mode"] == "none"), None)
    lines = ["| memory saving | peak (MiB) | ratio to plain | " +
             ("before step (MiB) | fwd+bwd peak (MiB) |" if cuda else "RSS before step (MiB) | RSS growth fwd+bwd (MiB) |") +
             " step time (s) |", "|---|---|---|---|---|---|"]
    for r in recs:
        ratio = f"{r[key] / base[key]:.3f}" if base else "–"
        extra = (f"{r['cuda_allocated_before_step_mb']:.0f} | {r['cuda_peak_forward_backward_mb']:.0f}" if cuda
                 else f"{r['rss_before_step_mb']:.0f} | {r['rss_activation_mb']:.0f}")
        lines.append(f"| {r['mode']} | {r[key]:.0f} | {ratio} | {extra} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=("full", "tiny"), default="full")
    p.add_argument("--size", type=int, default=128, help="crop side (default 128, as in the paper)")
    p.add_argument("--batch", type=int, default=4, help="batch size (default 4, as in the paper)")
    p.add_argument("--steps", type=int, default=2, help="T (default 2)")
    p.add_argument("--modes", default="both,none", help=f"comma-separated subset of {','.join(MODES)}")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--amp", action="store_true", help="fp16 autocast + GradScaler (CUDA only)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads in each child (CPU)")
    p.add_argument("--sd-weights", default="", help="optional local SD-1.5 weights (memory does not depend on them)")
    p.add_argument("--json", default="", help="also write the records to this JSON file")
    p.add_argument("--inference", default="", metavar="HxW",
                   help="instead: time and peak RSS of one fuser.run on an H×W pair (e.g. 480x640)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="both", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child_inference(args) if args.inference else _child(args)))
        return 0
    if args.inference and not re.fullmatch(r"\d+x\d+", args.inference.lower()):
        p.error(f"--inference: expected HxW such as 480x640, got {args.inference!r}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        p.error(f"--modes: expected a subset of {MODES}, got {bad}")
    if args.amp and not args.device.startswith("cuda"):
        p.error("--amp needs --device cuda")
    passthrough = ["--variant", args.variant, "--size", str(args.size), "--batch", str(args.batch),
                   "--steps", str(args.steps), "--device", args.device, "--threads", str(args.threads)]
    if args.amp:
        passthrough.append("--amp")
    if args.sd_weights:
        passthrough += ["--sd-weights", args.sd_weights]
    if args.inference:
        rec = _run_child(passthrough + ["--inference", args.inference], "none")
        print(f"RED inference, one pair {args.inference}: {rec['seconds']:.1f} s, peak RSS "
              f"{rec['rss_peak_mb']:.0f} MiB (before the call {rec['rss_before_mb']:.0f} MiB), "
              f"variant={args.variant}, T={args.steps}, device={args.device}, torch threads={args.threads}")
        if args.json:
            Path(args.json).write_text(json.dumps(rec, indent=2))
        return 0
    recs = []
    for mode in modes:
        print(f"[red_memory] {args.variant} {args.size}² batch {args.batch} T={args.steps} mode={mode} ...",
              file=sys.stderr, flush=True)
        recs.append(_run_child(passthrough, mode))
        print(f"[red_memory]   {json.dumps(recs[-1])}", file=sys.stderr, flush=True)
    print(f"RED training-step memory: variant={args.variant}, {args.size}×{args.size}, batch {args.batch}, "
          f"T={args.steps}, device={args.device}{' (AMP fp16)' if args.amp else ''}; "
          f"{platform.processor() or platform.machine()}, torch threads={args.threads}"
          f"{'' if args.device.startswith('cuda') else ', MALLOC_MMAP_THRESHOLD_=' + os.environ.get('MALLOC_MMAP_THRESHOLD_', '131072')}")
    print(_table(recs, args.device.startswith("cuda")))
    if args.json:
        Path(args.json).write_text(json.dumps(recs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
