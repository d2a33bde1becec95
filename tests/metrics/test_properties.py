"""Invariants every metric must satisfy (``docs/metrics.md``); no ../shared needed."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import metrics
from metric_helpers import synthetic_triplet

CONVENTIONS = list(metrics.CONVENTIONS)
# Large enough for every metric under every convention (ivifzoo MS-SSIM needs a side > 160).
F, A, B = synthetic_triplet(168, 176, colour_vis=True, seed=1)
FG, AG_, BG = synthetic_triplet(168, 176, seed=2)

_cache: dict = {}


def values(f, a, b, convention):
    key = (id(f), id(a), id(b), convention)
    if key not in _cache:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", metrics.MetricWarning)
            _cache[key] = metrics.compute(f, a, b, convention=convention)
    return _cache[key]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_all_twelve_finite_on_ordinary_images(convention):
    v = values(F, A, B, convention)
    assert list(v) == list(metrics.METRICS)
    for key, x in v.items():
        assert isinstance(x, float) and math.isfinite(x), (key, x)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uint8_and_float_inputs_give_identical_values(convention, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.UnverifiedPathWarning)  # vifb VIFF, RGB VIS
        as_float = metrics.compute(F.astype(dtype), A.astype(dtype), B.astype(dtype),
                                   convention=convention)
    assert values(F, A, B, convention) == as_float


SYMMETRIC = ["EN", "SF", "AG", "SD", "CC", "SCD", "MI", "VIF", "Qabf", "MS-SSIM", "EI"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_swapping_ir_and_vis(convention):
    v = values(FG, AG_, BG, convention)
    w = values(FG, BG, AG_, convention)
    for key in SYMMETRIC:
        assert w[key] == pytest.approx(v[key], rel=1e-12, abs=1e-14), key
    # VIFF is not symmetric: ties of the gain go to the second source, so swapping the images is
    # the same as swapping the source order.
    assert w["VIFF"] == pytest.approx(
        metrics.viff(FG, AG_, BG, convention=convention, source_order="ir_vis"), rel=1e-12)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_fused_equals_ir_equals_vis(convention):
    x = FG
    v = values(x, x, x, convention)
    assert v["CC"] == pytest.approx(1.0, abs=1e-12)
    assert math.isnan(v["SCD"])                         # r(F - VIS, IR) with F - VIS = 0
    assert v["VIF"] == pytest.approx(2.0, rel=1e-3)     # vifp(X, X) = 1 up to the 1e-10 floor
    assert v["VIFF"] == pytest.approx(1.0, rel=1e-3)
    if convention == "ivifzoo":
        assert v["MS-SSIM"] == pytest.approx(2.0, abs=1e-12)   # sum of two MS-SSIM(X, X) = 1
    else:
        assert v["MS-SSIM"] == pytest.approx(1.0, abs=2e-3)    # MEF: r ~ x - mu, not exactly x
    en_bits = metrics.en(x, x, x, convention="tang2023")
    if convention in ("tang2023", "tang2022"):
        assert v["MI"] >= 2 * en_bits - 1e-12 - (0 if x.max() < 254 else 1.0)
    elif convention == "ivifzoo":
        assert v["MI"] == pytest.approx(2 * en_bits, rel=1e-12)
    elif convention == "cddfuse":
        assert v["MI"] == pytest.approx(2 * en_bits * math.log(2), rel=1e-12)
    # Qabf: G = gF where gS == gF (the original's quirk), A = 1, so Q depends on the gradient
    # scale: near Tg*Ta for 0-255 data, much lower for tang2022's [0,1] data (gradients < 1).
    if convention == "tang2022":
        assert 0.0 < v["Qabf"] < 0.9
    else:
        assert 0.9 < v["Qabf"] < 1.0


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_constant_fused_image(convention):
    const = np.full_like(FG, 0)
    v = values(const, AG_, BG, convention)
    assert v["EN"] == pytest.approx(0.0, abs=2e-7)
    for key in ("SD", "SF", "AG", "EI"):
        assert v[key] == 0.0, key


def test_entropy_of_constant_image_is_zero():
    c = np.full((50, 60), 123, dtype=np.uint8)
    for conv in ("tang2023", "tang2022", "vifb", "cddfuse"):
        assert metrics.en(c, c, c, convention=conv) == 0.0


@pytest.mark.parametrize("convention", ["tang2023", "cddfuse", "ivifzoo"])
def test_cc_and_scd_are_scale_invariant(convention):
    f, a, b = (x.astype(np.float64) for x in (FG, AG_, BG))
    v = values(FG, AG_, BG, convention)
    w = metrics.compute(f * 0.5, a * 0.75, b * 0.25 + 3.0, ["CC", "SCD"], convention=convention)
    assert w["CC"] == pytest.approx(v["CC"], rel=1e-12)
    a2 = a * 0.5
    w2 = metrics.compute(f * 0.5, a2, b * 0.5, ["SCD"], convention=convention)
    assert w2["SCD"] == pytest.approx(v["SCD"], rel=1e-12)


def test_relations_between_conventions_on_grey_images():
    t23, t22 = values(FG, AG_, BG, "tang2023"), values(FG, AG_, BG, "tang2022")
    cdd, zoo = values(FG, AG_, BG, "cddfuse"), values(FG, AG_, BG, "ivifzoo")
    assert t22["SF"] * 255 == pytest.approx(t23["SF"], rel=1e-13)
    for key in ("EN", "AG", "MI"):
        assert t22[key] == t23[key]
    for key in ("CC", "SCD"):
        assert t22[key] == pytest.approx(t23[key], rel=1e-12)
    assert t22["SD"] <= math.sqrt(255.0) < t23["SD"]
    assert cdd["MI"] == pytest.approx(zoo["MI"] * math.log(2), rel=1e-12)
    for key in ("EN", "SD", "SF", "CC", "SCD", "VIF", "Qabf"):
        assert cdd[key] == pytest.approx(t23[key], rel=1e-12), key
    assert cdd["AG"] < t23["AG"]  # divided by m*n instead of (m-1)(n-1)
    assert zoo["EI"] > t23["EI"]  # zero padding adds border edges
