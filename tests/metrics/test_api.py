"""Public API contract: registry, conventions, provenance, describe, compute, compute_batch."""
from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import warnings

import pytest

import metrics
from metric_helpers import synthetic_triplet

KEYS = ["EN", "SF", "AG", "SD", "CC", "SCD", "MI", "VIF", "Qabf", "MS-SSIM", "EI", "VIFF"]
F, A, B = synthetic_triplet(64, 72)


def test_registry_keys_order_and_metadata():
    assert list(metrics.METRICS) == KEYS == list(metrics.METRIC_KEYS)
    for key, info in metrics.METRICS.items():
        assert info.key == key
        assert info.display_name == key
        assert info.higher_is_better is True and info.direction == "↑"
        assert info.fn is getattr(metrics, info.name)
        assert info.name == key.lower().replace("-", "_")
        assert info.version and info.reference and info.category and info.units
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'version'"):
        metrics.METRICS["EN"].version = "2"  # frozen
    with pytest.raises(TypeError):
        metrics.METRICS["NEW"] = None  # read-only mapping


def test_units_depend_on_convention():
    mi = metrics.get_metric("MI")
    assert [mi.units_for(c) for c in metrics.CONVENTIONS] == ["bits", "bits", "nats", "nats", "bits"]
    assert "[0,1]" in metrics.get_metric("SF").units_for("tang2022")
    assert "<= 2" in metrics.get_metric("MS-SSIM").units_for("ivifzoo")


@pytest.mark.parametrize("name", ["ms_ssim", "MS_SSIM", "ms-ssim", "MS-SSIM", "msssim"])
def test_metric_aliases(name):
    assert metrics.get_metric(name).key == "MS-SSIM"


def test_lookup_is_case_insensitive():
    assert metrics.get_metric("qabf").key == "Qabf"
    assert metrics.get_metric("en").key == "EN"
    assert list(metrics.compute(F, A, B, ["qabf", "en", "EN"])) == ["Qabf", "EN"]


def test_conventions_and_provenance():
    assert list(metrics.CONVENTIONS) == ["tang2023", "tang2022", "vifb", "cddfuse", "ivifzoo"]
    assert metrics.DEFAULT_CONVENTION == "tang2023"
    for c in metrics.CONVENTIONS.values():
        assert c.source and c.description and c.grey_rule
    p = metrics.provenance("EI", "cddfuse")
    assert p["effective_source"] == "vifb" and p["own"] is False
    assert p["units"] == "grey levels" and p["version"]
    assert metrics.provenance("MI", "cddfuse")["units"] == "nats"
    assert metrics.provenance("CC", "vifb")["effective_source"] == "tang2023"
    assert metrics.provenance("MS-SSIM", "cddfuse")["effective_source"] == "tang2023"
    assert metrics.provenance("MS-SSIM", "vifb")["effective_source"] == "mefb"
    assert metrics.provenance("VIFF", "tang2023")["effective_source"] == "mefb"
    assert metrics.provenance("VIFF", "ivifzoo")["source_order"] == "vis_ir"
    assert metrics.provenance("Qabf", "tang2022") == {
        "metric": "Qabf", "convention": "tang2022", "effective_source": "tang2022", "own": True,
        "reference": "Linfeng-Tang/Evaluation-for-Image-Fusion@5d6c43a", "units": "unitless (0..1)",
        "version": metrics.get_metric("Qabf").version}


def test_describe_prints_the_table():
    text = metrics.describe()
    for word in [*KEYS, *metrics.CONVENTIONS, "->vifb", "->mefb", "nats", "↑"]:
        assert word in text
    verbose = metrics.describe(verbose=True)
    assert "Han, Cai, Cao, Xu" in verbose and "RollingPlain/IVIF_ZOO@61b0a44" in verbose
    out = subprocess.run([sys.executable, "-m", "metrics", "-v"], capture_output=True, text=True,
                         check=True).stdout
    assert "MS-SSIM" in out and "Conventions:" in out


def test_package_is_a_numpy_only_leaf():
    code = ("import sys, numpy as np, metrics; x = np.zeros((50, 50), np.uint8); "
            "metrics.compute(x + 3, x + 1, x + 2); "
            "print(sorted(m for m in ('torch', 'cv2', 'PIL', 'sklearn', 'skimage', 'joblib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("convention", list(metrics.CONVENTIONS))
def test_compute_all_twelve_on_a_fixture_triplet(convention, read_image):
    """Acceptance: metrics.compute on a fixture triplet returns all 12 values per convention."""
    trip = [read_image(n) for n in ("msrs_00055D_DANet.png", "msrs_00055D_ir.png",
                                     "msrs_00055D_vis.png")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.MetricWarning)  # vifb VIFF's unverified L* path
        v = metrics.compute(*trip, convention=convention)
    assert list(v) == KEYS
    assert all(isinstance(x, float) and math.isfinite(x) for x in v.values()), v
    one = metrics.compute(*trip, ["Qabf"], convention=convention)["Qabf"]
    assert one == v["Qabf"] == metrics.qabf(*trip, convention=convention)


def _load(i):
    return synthetic_triplet(64, 72, seed=int(i))


def test_compute_batch_sequential_parallel_and_loaders():
    items = [_load(i) for i in range(3)]
    ref = [metrics.compute(*t, ["EN", "MI", "VIF"], "cddfuse") for t in items]
    assert metrics.compute_batch(items, ["EN", "MI", "VIF"], "cddfuse") == ref
    assert metrics.compute_batch(items, ["EN", "MI", "VIF"], "cddfuse", n_jobs=2) == ref
    assert metrics.compute_batch([0, 1, 2], ["EN", "MI", "VIF"], "cddfuse", n_jobs=2,
                                 loader=_load) == ref
    assert metrics.compute_batch([lambda i=i: _load(i) for i in range(3)],
                                 ["EN", "MI", "VIF"], "cddfuse") == ref
    with pytest.raises(ValueError, match="triplet"):
        metrics.compute_batch([F], ["EN"])
    with pytest.raises(metrics.UnknownMetricError):
        metrics.compute_batch(items, ["ENN"], n_jobs=2)
