"""Several conventions in one pass (``metrics.compute_many`` / ``metrics.TripletWork``) give exactly
what separate ``metrics.compute`` calls give: the same values bit for bit, the same warnings and the
same errors, for every convention, while the work the conventions share is done once."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import metrics
from metric_helpers import synthetic_triplet

CONVENTIONS = list(metrics.CONVENTIONS)


def _bits(values: dict) -> dict:
    return {k: float(v).hex() for k, v in values.items()}


def _separately(trip, keys=None) -> dict:
    out = {}
    for c in CONVENTIONS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = metrics.compute(*trip, keys, convention=c)
        out[c] = (_bits(values), sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    return out


def _together(trip, keys=None) -> dict:
    work = metrics.TripletWork(*trip)
    out = {}
    for c in CONVENTIONS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = work.compute(keys, c)
        out[c] = (_bits(values), sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    return out


def _rgb(trip, seed):
    """The triplet with an RGB fused and visible image (channels differ, so every grey rule
    gives its own grey image) and the infrared image kept grey."""
    rng = np.random.default_rng(seed)
    f, a, b = trip
    def colour(x):
        x = x.astype(np.float64)
        return np.clip(np.round(np.stack([x * 0.8 + 30, x, x * 0.6 + 15], -1)
                                + rng.normal(0, 4, x.shape + (3,))), 0, 255).astype(np.uint8)
    return colour(f), a, colour(b)


SYNTHETIC = {
    "grey": lambda: synthetic_triplet(176, 200, seed=3),
    "RGB visible": lambda: synthetic_triplet(176, 200, colour_vis=True, seed=4),
    "RGB fused and visible": lambda: _rgb(synthetic_triplet(176, 200, seed=5), 5),
    "non-integer float (quantised, warnings)": lambda: tuple(
        x.astype(np.float64) + 0.25 for x in synthetic_triplet(176, 200, seed=6)),
}

FIXTURES = {
    "tno05 SeAFusion (grey)": ("tno05_SeAFusion.png", "tno05_ir.png", "tno05_vis.png"),
    "msrs 00055D DANet (RGB visible)": ("msrs_00055D_DANet.png", "msrs_00055D_ir.png",
                                        "msrs_00055D_vis.png"),
    "vifb carLight GFF (RGB)": ("vifb_carLight_GFF.jpg", "vifb_carLight_ir.jpg",
                                "vifb_carLight_vis.jpg"),
    "mrict 11 max (medical)": ("mrict_11_max.png", "mrict_11_mri.png", "mrict_11_ct.png"),
}


@pytest.mark.parametrize("case", list(SYNTHETIC))
def test_together_equals_separately_synthetic(case):
    trip = SYNTHETIC[case]()
    assert _together(trip) == _separately(trip)


@pytest.mark.parametrize("case", list(FIXTURES))
def test_together_equals_separately_on_conformance_triplets(case, read_image):
    trip = tuple(read_image(n) for n in FIXTURES[case])
    sep = _separately(trip)
    assert _together(trip) == sep
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.MetricWarning)  # vifb VIFF's unverified L* path
        many = metrics.compute_many(*trip)
    assert list(many) == CONVENTIONS
    assert {c: _bits(v) for c, v in many.items()} == {c: v for c, (v, _) in sep.items()}


def test_subset_of_metrics_and_conventions_and_order():
    trip = synthetic_triplet(176, 200, colour_vis=True, seed=8)
    keys = ["VIF", "EN", "MI"]  # VIF without VIFF: other passes than with it
    many = metrics.compute_many(*trip, keys, ["cddfuse", "tang2023", "CDDFUSE"])
    assert list(many) == ["cddfuse", "tang2023"]
    for c, values in many.items():
        assert list(values) == keys
        assert _bits(values) == _bits(metrics.compute(*trip, keys, convention=c))
    assert _together(trip, keys) == _separately(trip, keys)


def test_shared_work_is_done_once():
    """Grey inputs: every convention's grey images are the inputs themselves, so the VIF/VIFF
    pass of tang2023 serves cddfuse, vifb and tang2022's VIFF too (one pass per distinct set of
    options), and the MEF-MS-SSIM of the four MEF conventions is computed once."""
    trip = synthetic_triplet(176, 200, seed=9)
    work = metrics.TripletWork(*trip)
    for c in CONVENTIONS:
        work.compute(None, c)
    ops = [key[0] for key in work._work._entries]
    assert ops.count("mef_ms_ssim") == 1
    assert ops.count("vifp") == 1          # exact pass with VIFF, shared by all but ivifzoo's torch
    assert ops.count("vifp-saturated") == 1
    assert ops.count("qabf") == 1 and ops.count("qabf/255") == 1


def test_equal_content_in_different_arrays_shares_a_token():
    from metrics._triplet import SharedWork
    x = np.arange(12.0).reshape(3, 4)
    shared, private = SharedWork(content_keyed=True), SharedWork()
    assert shared.token(x) == shared.token(x.copy()) != shared.token(x + 1)
    assert private.token(x) != private.token(x.copy())
    assert private.token(x) == private.token(x)


def test_errors_and_bad_arguments():
    trip = synthetic_triplet(64, 72, seed=1)  # too small for ivifzoo's MS-SSIM
    with pytest.raises(metrics.ImageTooSmallError) as sep:
        metrics.compute(*trip, ["MS-SSIM"], convention="ivifzoo")
    with pytest.raises(metrics.ImageTooSmallError) as many:
        metrics.compute_many(*trip, ["EN", "MS-SSIM"], ["tang2023", "ivifzoo"])
    assert str(many.value) == str(sep.value)
    work = metrics.TripletWork(*trip)  # after a failure the others still compute, identically
    assert _bits(work.compute(["MS-SSIM"], "tang2023")) == _bits(
        metrics.compute(*trip, ["MS-SSIM"], convention="tang2023"))
    with pytest.raises(metrics.UnknownConventionError, match="did you mean 'vifb'"):
        metrics.compute_many(*trip, ["EN"], ["vifbb"])
    with pytest.raises(ValueError, match="non-empty sequence of convention names, got 'vifb'"):
        metrics.compute_many(*trip, ["EN"], "vifb")
    with pytest.raises(ValueError, match="non-empty sequence of convention names, got \\[\\]"):
        metrics.compute_many(*trip, ["EN"], [])
    with pytest.raises(metrics.MetricInputError, match="image sizes differ"):
        metrics.TripletWork(trip[0][:-1], trip[1], trip[2])


ALONE_CASES = {
    **SYNTHETIC,
    # VIF's value once depended on whether VIFF was computed with it (VIFF's selection decisions
    # added Octave-refined pixels to VIF's sums): the "RGB" cases above and this one showed it
    "RGB visible, smooth": lambda: synthetic_triplet(240, 320, colour_vis=True, seed=0),
}


@pytest.mark.parametrize("case", list(ALONE_CASES))
def test_a_metric_alone_equals_its_value_among_all(case):
    """A metric's value does not depend on the metrics computed with it (bit for bit)."""
    trip = ALONE_CASES[case]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.MetricWarning)
        for c in CONVENTIONS:
            together = _bits(metrics.compute(*trip, convention=c))
            alone = {k: _bits(metrics.compute(*trip, [k], convention=c))[k] for k in together}
            assert alone == together, c
