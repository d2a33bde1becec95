"""How often the VIF / VIFF decisions of the MATLAB conventions are decided by rounding, and how
much the values move when another float64 arithmetic decides them.

For every (ir, vis, fused) triplet the pixel-VIF core runs once (tang2023 grey images, VIFF in
MEFB order) and reports, per scale, the windows with a decision within rounding error of its
threshold (``metrics.fidelity.vifp_pass``: ``flagged`` and ``risky`` per kind, ``emulated``:
those that needed Octave's tap-by-tap sums). VIF and VIFF are then compared between three
float64 arithmetics that a correct implementation of the reference formula may use:

* ``reference``: GNU Octave with the reference BLAS (separate multiply and add) - the arithmetic
  of the project's reference values and of ``metrics`` (default);
* ``openblas``: GNU Octave with OpenBLAS (fused multiply-adds, ``octave_fma=True``), the usual
  Octave installation on Debian with recommended packages;
* ``separable``: the same formula with separable filtering (our fast sums, every decision taken on
  them; MATLAB's ``filter2`` and SciPy filter separable kernels this way too).

Triplets: the metric fixtures (real published fused images) and the complete datasets of
``../shared/datasets-full`` with two fused images per pair (rounded mean, and the ``gff``
baseline). Usage::

    python benchmarks/vif_decision_risk.py [--json risk.json] [--plot docs/vif_decision_risk.png]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from metrics._matlab import rgb2gray_matlab, to_uint8  # noqa: E402
from metrics._vif_decisions import KINDS  # noqa: E402
from metrics.fidelity import vifp_pass  # noqa: E402

SHARED = Path(os.environ.get("IVIF_SHARED", ROOT.parent / "shared"))
FULL = {  # group: (folder, ir-role subfolder, vis-role subfolder)
    "tno": ("TNO", "ir", "vi"),
    "roadscene": ("RoadScene", "cropinfrared", "crop_LR_visible"),
    "harvard-ct": ("Harvard/MRI_CT", "CT", "MRI"),
    "harvard-pet": ("Harvard/MRI_PET", "PET", "MRI"),
    "harvard-spect": ("Harvard/MRI_SPECT", "SPECT", "MRI"),
}
ARITHMETICS = ("reference", "openblas", "separable")


def grey(path: Path) -> np.ndarray:
    from PIL import Image  # the benchmark (not the metrics package) reads files
    a = np.asarray(Image.open(path)).astype(np.float64)
    return rgb2gray_matlab(a) if a.ndim == 3 else a


def triplets(fusers: list[str], limit: int | None):
    """(group, name, ir, vis, fused) over the fixtures and the full datasets."""
    fx = SHARED / "fixtures" / "metrics"
    if (fx / "reference.json").exists():
        seen = set()
        for rec in json.loads((fx / "reference.json").read_text())[:limit and 40 * limit]:
            if rec["triplet"] not in seen:
                seen.add(rec["triplet"])
                yield ("fixtures", rec["triplet"], grey(fx / rec["ir"]), grey(fx / rec["vis"]),
                       grey(fx / rec["fused"]))
    for group, (folder, ir_dir, vis_dir) in FULL.items():
        base = SHARED / "datasets-full" / folder
        if not base.is_dir():
            continue
        for name in sorted(os.listdir(base / ir_dir))[:limit]:
            ir, vis = grey(base / ir_dir / name), grey(base / vis_dir / name)
            for fuser in fusers:
                if fuser == "mean":
                    fused = to_uint8(0.5 * ir + 0.5 * vis)
                else:
                    import models.baselines  # noqa: F401  (registers the classical fusers)
                    from models.registry import create_fuser
                    fused = to_uint8(255.0 * create_fuser(fuser).fuse(ir / 255.0, vis / 255.0))
                yield group, f"{name}/{fuser}", ir, vis, fused


def measure(ir, vis, fused) -> dict:
    ref = vifp_pass([ir, vis], fused, viff_order=(1, 0))
    fma = vifp_pass([ir, vis], fused, viff_order=(1, 0), octave_fma=True)

    def vif(num, den):
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(sum(np.float64(n) / d for n, d in zip(num, den)))

    return {
        "pixels": [p["pixels"] for p in ref["scales"]],
        "flagged": [p["flagged"] for p in ref["scales"]],
        "emulated": [p["emulated"] for p in ref["scales"]],
        "risky": [p["risky"] for p in ref["scales"]],
        "VIFF": {"reference": ref["viff"], "openblas": fma["viff"], "separable": ref["viff_fast"]},
        "VIF": {"reference": vif(ref["vif_num"], ref["vif_den"]),
                "openblas": vif(fma["vif_num"], fma["vif_den"]),
                "separable": vif(ref["vif_num_fast"], ref["vif_den_fast"])},
    }


def summarise(rows: list[dict]) -> str:
    groups = sorted({r["group"] for r in rows}, key=[r["group"] for r in rows].index)
    out = ["| triplets | n | windows flagged, scale 1 / 2 / 3 / 4 | emulated | "
           "VIFF moves > 1e-9 (OpenBLAS / separable) | > 1e-6 | max | VIF > 1e-9 | > 1e-6 | max |",
           "|---|---:|---|---:|---|---|---|---|---|---|"]
    for g in groups + ["all"]:
        sel = [r for r in rows if g in ("all", r["group"])]
        px = np.sum([r["pixels"] for r in sel], axis=0)
        fl = np.sum([r["flagged"] for r in sel], axis=0)
        em = np.sum([r["emulated"] for r in sel], axis=0)
        cells = [g, str(len(sel)), " / ".join(f"{x:.2%}" for x in fl / px),
                 f"{em.sum() / px.sum():.3%}"]
        for metric in ("VIFF", "VIF"):
            d = {a: np.array([abs(r[metric][a] / r[metric]["reference"] - 1) for r in sel])
                 for a in ("openblas", "separable")}
            for thr in (1e-9, 1e-6):
                cells.append(" / ".join(str(int(np.sum(d[a] > thr))) for a in d))
            cells.append(" / ".join(f"{d[a].max():.1e}" for a in d))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    kinds = {k: np.sum([[p[k] for p in r["risky"]] for r in rows], axis=0) for k in KINDS}
    px = np.sum([r["pixels"] for r in rows], axis=0)
    x = np.arange(1, 5)
    labels = {"variance": "variance vs 1e-10", "sign": "sign of the gain",
              "select": "VIFF selection", "value": "ill-conditioned VID term"}
    for i, (k, v) in enumerate(kinds.items()):
        a1.bar(x + (i - 1.5) * 0.2, v / px, 0.2, label=labels[k])
    a1.plot(x, np.sum([r["emulated"] for r in rows], axis=0) / px, "k.-",
            label="summed in Octave's order")
    a1.set(yscale="log", xticks=x, xlabel="scale (window 17, 9, 5, 3)",
           ylabel="fraction of windows",
           title=f"decisions within rounding ({len(rows)} triplets)")
    a1.legend(fontsize=8)
    for metric, style in (("VIFF", "-"), ("VIF", "--")):
        for alt in ("openblas", "separable"):
            d = np.sort([abs(r[metric][alt] / r[metric]["reference"] - 1) for r in rows])
            d = np.maximum(d, 1e-17)
            a2.plot(d, 1.0 - np.arange(d.size) / d.size, style, label=f"{metric}: {alt}")
    a2.set(xscale="log", yscale="log", xlabel="|value / reference value - 1|",
           ylabel="fraction of triplets with a larger move", xlim=(1e-17, 1e-3),
           title="move relative to Octave with reference BLAS")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fusers", default="mean,gff")
    ap.add_argument("--limit", type=int, default=None, help="pairs per dataset (default: all)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--plot", type=Path)
    ns = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: {SHARED} not found (set IVIF_SHARED)")
    warnings.simplefilter("ignore", RuntimeWarning)
    rows, t0 = [], time.time()
    for group, name, ir, vis, fused in triplets(ns.fusers.split(","), ns.limit):
        rows.append({"group": group, "triplet": name, **measure(ir, vis, fused)})
    print(f"{len(rows)} triplets in {time.time() - t0:.0f} s\n")
    print(summarise(rows))
    if ns.json:
        ns.json.write_text(json.dumps(rows) + "\n")
    if ns.plot:
        plot(rows, ns.plot)


if __name__ == "__main__":
    main()
