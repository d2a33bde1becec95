"""Regenerate this folder: the in-repository subset of the metric conformance fixtures.

Copies the images of the triplets listed in ``TRIPLETS`` from the full fixture set
(``../shared/fixtures/metrics`` beside the checkout, ``$IVIF_SHARED/fixtures/metrics``, or
``--shared DIR``), unchanged, together
with every record of its ``reference.json`` that concerns them (``reference.json`` here) and their
entries of its ``images.json`` (provenance, SHA-256, size, channels). Deterministic: the same full
set gives byte-identical files. ``README.md`` documents the selection; rerun this script and
update the README when ``TRIPLETS`` changes.

Usage::

    python tests/metrics/conformance/make_subset.py [--shared ../shared/fixtures/metrics]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = (Path(os.environ.get("IVIF_SHARED", HERE.parents[3] / "shared"))
                  / "fixtures" / "metrics")
MAX_BYTES = 4 * 1024 * 1024

# Why each triplet is kept (every (convention, metric) pair of the full set gets >= 3 records):
TRIPLETS = (
    # TNO 05, three fused images sharing one small source pair: stored values of Tang's 2022 code
    # (tang2022 "stored"), grey (DenseFuse, U2Fusion) and colour (SeAFusion) fused images.
    "tno05_DenseFuse", "tno05_SeAFusion", "tno05_U2Fusion",
    # VIFB carLight, colour JPEG triplets with VIFB's stored values; the VIFB channel loop; among
    # the most kernel-sensitive ivifzoo VIF values of the full set.
    "vifb_carLight_ADF", "vifb_carLight_GFF", "vifb_carLight_SeAFusion",
    # MRI-CT pairs: large constant black backgrounds (flat windows in VIF, VIFF and both
    # MS-SSIMs) and Qabf's equal-gradient branch (fused = pixel-wise maximum).
    "mrict_11_max", "mrict_12_max",
    # MSRS 640 x 480 with an RGB visible image and a saturated (flat, 255) region: the size the
    # speed targets use, and flat bright windows where ivifzoo's float32 noise decides the value.
    "msrs_00055D_DANet",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="full fixture folder (default: %(default)s)")
    args = ap.parse_args(argv)
    src = args.shared
    if not (src / "reference.json").is_file():
        print(f"error: no reference.json in {src}; pass --shared DIR", file=sys.stderr)
        return 2
    records = json.loads((src / "reference.json").read_text())
    images = json.loads((src / "images.json").read_text())
    kept = [r for r in records if r["triplet"] in TRIPLETS]
    missing = set(TRIPLETS) - {r["triplet"] for r in kept}
    if missing:
        print(f"error: triplets not in {src / 'reference.json'}: {sorted(missing)}",
              file=sys.stderr)
        return 2
    names = sorted({r[k] for r in kept for k in ("ir", "vis", "fused")})
    for name in names:
        if sha256(src / name) != images[name]["sha256"]:
            print(f"error: {src / name} does not match its sha256 in images.json",
                  file=sys.stderr)
            return 2
        shutil.copyfile(src / name, HERE / name)
    lines = ",\n".join(json.dumps(r, sort_keys=True) for r in kept)
    (HERE / "reference.json").write_text("[\n" + lines + "\n]\n")
    (HERE / "images.json").write_text(
        json.dumps({n: images[n] for n in names}, indent=1, sort_keys=True) + "\n")
    total = sum((HERE / n).stat().st_size for n in names)
    total += (HERE / "reference.json").stat().st_size + (HERE / "images.json").stat().st_size
    print(f"{len(TRIPLETS)} triplets, {len(names)} images, {len(kept)} records, {total} bytes "
          f"(limit {MAX_BYTES}); source reference.json sha256 "
          f"{sha256(src / 'reference.json')}")
    return 0 if total <= MAX_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
