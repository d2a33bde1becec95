"""Conformance: every reference record is reproduced within its tolerance.

Two fixture sets, the same record format: the subset in ``tests/metrics/conformance`` (always
checked, so a fresh clone verifies exactness; see its README for provenance) and the full set in
``../shared/fixtures/metrics`` (checked whenever present, as in CI). The summary line of the run
reports the record counts of each set separately.

Tolerances (|ours - ref| <= tol):
* ``octave`` records and values stored at full precision (Tang's xlsx): 1e-6 * max(1, |ref|);
* VIFB's stored values (5 significant digits): 6e-5 * |ref|;
* ``python-peer`` records (float32 Python peers): 1e-4 * max(1, |ref|);
* except IVIF_ZOO's MS-SSIM and VIF, which are computed by torch on the machine running the tests,
  as IVIF_ZOO computes them, and so hold to the cross-machine spread of the reference itself:
  :data:`IVIFZOO_TORCH_RTOL`.

How the fixtures were produced matters for two details:
* images are read with PIL as the harness passes them (RGB order, 1 or 3 channels as stored); the
  CDDFuse peer read them with OpenCV (always 3 channels) - equal channels give the same grey value,
  which ``test_primitives.py::test_cddfuse_grey_same_for_pil_and_opencv_reads`` checks;
* VIFF values were computed in VIFB/MEFB argument order ``metricsVIF(vis, ir, fused)``, the default
  ``source_order="vis_ir"`` of :func:`metrics.viff` and the order :func:`metrics.compute` uses.
"""
from __future__ import annotations

import json
import warnings
from collections import Counter, defaultdict
from hashlib import sha256

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import metrics
from metric_helpers import (
    CONFORMANCE_CHECKED,
    CONFORMANCE_PASSED,
    IN_REPO_FIXTURES,
    load_records,
    read_fixture_image,
)

FIXTURE_KEYS = {"MS_SSIM": "MS-SSIM"}  # fixture metric name -> canonical key
SOURCES = ("octave", "stored", "python-peer")

# IVIF_ZOO's MS-SSIM and VIF (``python-peer`` records of its torch code, produced with torch 2.13
# on an AMD EPYC CPU, one thread) are float32 values that depend on the kernels torch runs: with
# IVIF_ZOO's data-range quirk MS-SSIM's contrast term in flat regions is a ratio of float32 rounding
# noise, and VIF's clamps compare such noise. metrics runs the same torch operations on the machine
# running the tests, so these records hold to the reference's own spread across machines, relative
# to |ref|:
# * measured with `python benchmarks/ivifzoo_spread.py` (AMD EPYC, torch 2.13.0+cpu; 15 kernel
#   selections: oneDNN ISA SSE4.1/AVX/AVX2/AVX-512, ATen CPU capability default/avx2/avx512,
#   oneDNN off, MKL_CBWR=COMPATIBLE, 1 and 2 threads; all 36 triplets of the full set, a fresh
#   process each): largest deviation from the fixture values MS-SSIM 8.9e-3
#   (vifb_carLight_SeAFusion, wherever the convolutions run without fused multiply-adds: oneDNN
#   SSE4.1 or AVX code, or oneDNN off), VIF 1.6e-5 (oneDNN AVX2 and the same non-FMA kernels);
#   0 with the fixtures' own kernels (AVX-512, one thread), 1.2e-7 / 2.3e-7 with two threads;
# * reported in issue 11: an Intel Xeon (AVX-512) with torch 2.13 differs from these values by up
#   to 2.6e-3 on MS-SSIM, and by up to 5.0e-3 on held-out records (VIF: no deviation reported);
# * margin: MS-SSIM twice the largest known deviation (2 x 8.9e-3), rounded up: 2e-2; VIF six
#   times the measured 1.6e-5: 1e-4, the tolerance of the other float32 peers.
# GPU (cuDNN) kernels are not measured (docs/metrics.md, "IVIF_ZOO's MS-SSIM and VIF depend on
# the machine").
IVIFZOO_TORCH_RTOL = {"MS-SSIM": 2e-2, "VIF": 1e-4}

TOLERANCE_SUMMARY = (
    "octave and full-precision stored 1e-6*max(1,|ref|); VIFB stored 6e-5*|ref|; python-peer "
    "1e-4*max(1,|ref|); ivifzoo MS-SSIM/VIF (torch, machine-dependent) "
    + "/".join(f"{v:g}" for v in IVIFZOO_TORCH_RTOL.values()) + "*|ref|")


def _key(rec: dict) -> str:
    return FIXTURE_KEYS.get(rec["metric"], rec["metric"])


def tolerance(rec: dict) -> float:
    ref = float(rec["value"])
    key = _key(rec)
    if rec["source"] == "python-peer" and key in IVIFZOO_TORCH_RTOL and \
            rec["convention"] in metrics.get_metric(key).torch_conventions:
        return IVIFZOO_TORCH_RTOL[key] * abs(ref)
    if rec["source"] == "python-peer":
        return 1e-4 * max(1.0, abs(ref))
    if rec["source"] == "stored" and rec["convention"] == "vifb":
        return 6e-5 * abs(ref)
    return 1e-6 * max(1.0, abs(ref))


def test_reference_file_is_fully_covered(fixture_place):
    """Every record names a known convention, metric and source, so the per-convention tests below
    check all of them (the count in the summary line must equal the file's length)."""
    _, folder = fixture_place
    records = load_records(folder)
    assert len(records) > 0
    for rec in records:
        assert rec["convention"] in metrics.CONVENTIONS, rec
        assert _key(rec) in metrics.METRICS, rec
        assert rec["source"] in SOURCES, rec
    assert set(Counter(r["convention"] for r in records)) == set(metrics.CONVENTIONS)


def test_fixture_images_decode_as_documented(fixture_place):
    """Every image has the SHA-256 recorded in images.json and decodes (PIL) to the recorded size
    and channel count; every record's images are there."""
    _, folder = fixture_place
    info = json.loads((folder / "images.json").read_text())
    for name, meta in info.items():
        assert sha256((folder / name).read_bytes()).hexdigest() == meta["sha256"], name
        a = read_fixture_image(folder, name)
        assert a.dtype == np.uint8, name
        assert a.shape[:2] == (meta["height"], meta["width"]), name
        assert (1 if a.ndim == 2 else a.shape[2]) == meta["channels"], name
    for rec in load_records(folder):
        assert {rec["ir"], rec["vis"], rec["fused"]} <= set(info), rec["triplet"]


@pytest.mark.parametrize("convention", list(metrics.CONVENTIONS))
def test_reference_values(fixture_place, convention):
    place, folder = fixture_place
    groups: dict[str, list[dict]] = defaultdict(list)
    for rec in load_records(folder):
        if rec["convention"] == convention:
            groups[rec["triplet"]].append(rec)
    assert groups, f"no records for {convention} in {folder}"
    failures = []
    checked = 0
    for triplet, recs in sorted(groups.items()):
        r0 = recs[0]
        keys = sorted({_key(r) for r in recs}, key=list(metrics.METRICS).index)
        imgs = [read_fixture_image(folder, r0[k]) for k in ("fused", "ir", "vis")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", metrics.MetricWarning)
            values = metrics.compute(*imgs, keys, convention=convention)
        for rec in recs:
            ours, ref = values[_key(rec)], float(rec["value"])
            checked += 1
            CONFORMANCE_CHECKED[(place, rec["source"])] += 1
            diff = abs(ours - ref)
            if diff <= tolerance(rec):
                CONFORMANCE_PASSED[(place, rec["source"])] += 1
            else:
                failures.append(f"{triplet} {rec['metric']} [{rec['source']}]: ours {ours!r} "
                                f"ref {ref!r} |diff| {diff:.3g} > {tolerance(rec):.3g}")
    assert not failures, (f"{len(failures)} of {checked} {convention} records of {folder} out of "
                          f"tolerance:\n" + "\n".join(failures))


# ------------------------------------------------------------------------------------------------
# The in-repository subset (tests/metrics/conformance)
# ------------------------------------------------------------------------------------------------
def _grey(a: np.ndarray) -> np.ndarray:
    return a if a.ndim == 2 else a.mean(axis=2)


def test_in_repo_subset_is_compact_and_checks_every_pair_three_times():
    records = load_records(IN_REPO_FIXTURES)
    size = sum(p.stat().st_size for p in IN_REPO_FIXTURES.iterdir()
               if p.is_file() and p.suffix in (".png", ".jpg", ".json"))
    assert size <= 4 * 1024 * 1024, size
    pairs = Counter((r["convention"], _key(r)) for r in records)
    assert min(pairs.values()) >= 3, pairs
    assert {c for c, _ in pairs} == set(metrics.CONVENTIONS)
    by_triplet = {r["triplet"]: r for r in records}
    sources = {(r["triplet"], r["convention"], r["source"]) for r in records}
    # a colour VIFB triplet with VIFB's stored values
    assert any(r["dataset"] == "vifb" and read_fixture_image(IN_REPO_FIXTURES, r["fused"]).ndim == 3
               and (t, "vifb", "stored") in sources for t, r in by_triplet.items())
    # a TNO triplet with stored values of Tang's code
    assert any(r["dataset"] == "tang_tno" and (t, "tang2022", "stored") in sources
               for t, r in by_triplet.items())
    # an MRI-CT pair
    assert any(r["dataset"] == "cddfuse_mri_ct" for r in by_triplet.values())
    # flat windows: a triplet whose three images share a constant 17 x 17 window (VIF/VIFF's
    # first scale, and MS-SSIM's 11 x 11 windows inside it)
    flat = []
    for t, r in by_triplet.items():
        const = None
        for k in ("fused", "ir", "vis"):
            v = sliding_window_view(_grey(read_fixture_image(IN_REPO_FIXTURES, r[k])), (17, 17))
            c = v.min(axis=(-2, -1)) == v.max(axis=(-2, -1))
            const = c if const is None else const & c
        if const.any():
            flat.append(t)
    assert flat, "no in-repository triplet has flat windows"


def test_in_repo_subset_is_a_faithful_copy_of_the_full_set(metric_fixtures_dir):
    """The records of the in-repository subset are exactly those of the full set for its
    triplets, and its images are byte-identical."""
    sub = load_records(IN_REPO_FIXTURES)
    kept = {r["triplet"] for r in sub}
    full = [r for r in load_records(metric_fixtures_dir) if r["triplet"] in kept]
    canon = sorted(json.dumps(r, sort_keys=True) for r in full)
    assert sorted(json.dumps(r, sort_keys=True) for r in sub) == canon
    for name in json.loads((IN_REPO_FIXTURES / "images.json").read_text()):
        assert (IN_REPO_FIXTURES / name).read_bytes() == (metric_fixtures_dir / name).read_bytes()
    all_pairs = {(r["convention"], _key(r)) for r in load_records(metric_fixtures_dir)}
    assert {(r["convention"], _key(r)) for r in sub} == all_pairs
