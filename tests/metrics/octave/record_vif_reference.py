"""Record GNU Octave's VIF / VIFF values of the adversarial triplets (development tool).

Writes ``tests/metrics/data/vif_octave_reference.json``, which ``test_vif_decisions.py`` reads
(the tests never need Octave). Usage, from the repository root::

    python tests/metrics/octave/record_vif_reference.py \\
        [--blas reference=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack] \\
        [--blas openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread]

Needs ``octave-cli`` with the image package (Debian 12: ``apt-get install octave octave-image``,
plus ``libopenblas0-pthread`` for the OpenBLAS records) and SciPy (``.mat`` exchange). Each
``--blas NAME=DIR`` runs Octave with ``LD_LIBRARY_PATH=DIR`` so that it loads that directory's
``libblas.so.3`` (and ``liblapack.so.3``); the libraries Octave mapped are recorded. The
Octave code is ``vif_oracle.m`` (this project's own transcription of the pixel-VIF core and of
Han et al.'s VIFF selection), ``run_oracle.m`` and ``const_tables.m``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.io as sio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import vif_adversarial as va  # noqa: E402

OUT = HERE.parent / "data" / "vif_octave_reference.json"
BLOCK_SEEDS = range(40)
# RoadScene pairs (from ../shared/datasets-full, when present) whose VIFF depends on Octave's BLAS
ROADSCENE = Path(os.environ.get("IVIF_SHARED", HERE.parents[3] / "shared")) / "datasets-full" \
    / "RoadScene"
ROADSCENE_PAIRS = ("FLIR_05514.jpg", "FLIR_06876.jpg")
DEFAULT_BLAS = {"reference": "/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack",
                "openblas": "/usr/lib/x86_64-linux-gnu/openblas-pthread"}


def triplets():
    """(name, ir, vis, fused) of every recorded triplet."""
    for seed in BLOCK_SEEDS:
        yield (f"block-{seed}", *va.block_triplet(seed))
    for layout in va.LEVEL_LAYOUTS:
        yield (f"levels-{layout}", *va.level_triplet(layout))


def roadscene():
    """(pair, ir, vis, fused): tang2023 grey images (MATLAB rgb2gray of the RGB VIS) and the
    rounded mean as fused image."""
    sys.path.insert(0, str(HERE.parents[2]))
    from PIL import Image

    from metrics._matlab import rgb2gray_matlab, to_uint8
    for pair in ROADSCENE_PAIRS:
        ir = np.asarray(Image.open(ROADSCENE / "cropinfrared" / pair)).astype(np.float64)
        vis = np.asarray(Image.open(ROADSCENE / "crop_LR_visible" / pair)).astype(np.float64)
        vis = rgb2gray_matlab(vis)
        yield pair, ir, vis, to_uint8(0.5 * ir + 0.5 * vis)


def octave(args: list[str], blas_dir: str) -> str:
    env = dict(os.environ, LD_LIBRARY_PATH=blas_dir, OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    p = subprocess.run(["octave-cli", "--no-gui", "-q", *args], cwd=HERE, env=env,
                       capture_output=True, text=True)
    if p.returncode != 0 and "ignoring const execution_exception" not in p.stderr:
        raise RuntimeError(f"octave failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p.stdout


def loaded_blas(blas_dir: str) -> str:
    """The BLAS / LAPACK libraries an Octave started with this LD_LIBRARY_PATH maps."""
    out = octave(["--eval", "disp(fileread('/proc/self/maps'))"], blas_dir)
    libs = sorted({line.split()[-1] for line in out.splitlines()
                   if "blas" in line.lower() or "lapack" in line.lower()})
    return ", ".join(libs)


def record(blas: dict[str, str]) -> dict:
    version = octave(["--eval", "disp(version()); disp(pkg('describe','image'){1}.version)"],
                     next(iter(blas.values()))).split()
    result = {"octave": version[0], "image_package": version[1], "blas": {}, "tables": {},
              "records": []}
    names = []
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for name, ir, vis, fused in triplets():
            names.append(name)
            for variant in ("double", "uint8"):
                src, dst = f"{tmp}/{name}-{variant}.mat", f"{tmp}/{name}-{variant}-out.mat"
                sio.savemat(src, {"refs": np.stack([ir, vis]), "dist": fused,
                                  # VIFF in VIFB/MEFB order metricsVIF(vis, ir, fused)
                                  "order": np.array([2.0, 1.0]) if variant == "double"
                                  else np.zeros((0, 0)),
                                  "want_maps": 0.0, "as_uint8": float(variant == "uint8")})
                args += [src, dst]
        for label, blas_dir in blas.items():
            result["blas"][label] = loaded_blas(blas_dir)
            octave(["run_oracle.m", *args], blas_dir)
            for a in range(0, len(args), 2):
                m = sio.loadmat(args[a + 1])
                name, variant = Path(args[a]).stem.rsplit("-", 1)
                rec = {"triplet": name, "variant": variant, "blas": label,
                       "vif_num": m["num"].tolist(), "vif_den": m["den"].tolist()}
                if variant == "double":
                    rec.update(vid=m["vid"].ravel().tolist(), vind=m["vind"].ravel().tolist(),
                               viff=float(m["viff"].item()))
                result["records"].append(rec)
            octave(["const_tables.m", f"{tmp}/tables.mat"], blas_dir)
            t = sio.loadmat(f"{tmp}/tables.mat")
            result["tables"][label] = {k: t[k].T.tolist() for k in ("X", "MU", "E2")}
    result["triplets"] = names
    if ROADSCENE.is_dir():
        result["roadscene"] = []
        with tempfile.TemporaryDirectory() as tmp:
            for pair, ir, vis, fused in roadscene():
                src, dst = f"{tmp}/in.mat", f"{tmp}/out.mat"
                sio.savemat(src, {"refs": np.stack([ir, vis]), "dist": fused,
                                  "order": np.array([2.0, 1.0]), "want_maps": 0.0})
                rec = {"pair": pair, "fused": "MATLAB-rounded mean of the grey IR and VIS",
                       "viff": {}}
                for label, blas_dir in blas.items():
                    octave(["run_oracle.m", src, dst], blas_dir)
                    rec["viff"][label] = float(sio.loadmat(dst)["viff"].item())
                result["roadscene"].append(rec)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blas", action="append", metavar="NAME=DIR",
                    help="label and directory of a libblas.so.3 (repeatable; default: Debian's "
                         "reference BLAS and OpenBLAS)")
    ns = ap.parse_args()
    blas = dict(b.split("=", 1) for b in ns.blas) if ns.blas else DEFAULT_BLAS
    res = record(blas)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(res, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB, {len(res['records'])} records)")


if __name__ == "__main__":
    main()
