"""Input validation is always on and says what was expected and what was given (issue 7, item 3)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import metrics
from metric_helpers import synthetic_triplet

F, A, B = synthetic_triplet()


def test_shape_mismatch_names_each_array_and_shape():
    with pytest.raises(metrics.MetricInputError) as e:
        metrics.en(F, A[:-1], B)
    msg = str(e.value)
    assert f"fused has shape {F.shape}" in msg
    assert f"ir has shape {A[:-1].shape}" in msg
    assert f"vis has shape {B.shape}" in msg
    assert isinstance(e.value, ValueError)


def test_colour_and_grey_may_be_mixed_but_sizes_must_agree():
    rgb = np.stack([B] * 3, axis=-1)
    assert metrics.en(F, A, rgb) == metrics.en(F, A, B)
    with pytest.raises(metrics.MetricInputError, match="same height and width"):
        metrics.en(F, A, rgb[:, :-2])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected(bad):
    x = F.astype(np.float64)
    x[3, 4] = bad
    with pytest.raises(metrics.MetricInputError, match="NaN|infinite"):
        metrics.compute(x, A, B, ["EN"])


def test_float_out_of_range_is_rejected_with_hint():
    with pytest.raises(metrics.MetricInputError, match=r"scale \[0, 1\] data by 255"):
        metrics.sd(F.astype(np.float64) * 2.0, A, B)
    neg = F.astype(np.float64)
    neg[0, 0] = -0.5
    with pytest.raises(metrics.MetricInputError, match=r"outside \[0, 255\]"):
        metrics.sd(neg, A, B)
    with pytest.raises(metrics.MetricInputError, match=r"\[-1, 1\]"):
        metrics.sd(F / 127.5 - 1.0, A, B)


def test_integer_types_other_than_uint8_must_be_in_range():
    assert metrics.sd(F.astype(np.int32), A, B) == metrics.sd(F, A, B)
    with pytest.raises(metrics.MetricInputError, match="outside"):
        metrics.sd(F.astype(np.uint16) * 257, A, B)


@pytest.mark.parametrize("arr, pattern", [
    (np.zeros((8, 8), dtype=bool), "dtype"),
    (np.zeros((8, 8), dtype=complex), "dtype"),
    (np.zeros((8, 8, 4), dtype=np.uint8), "RGBA"),
    (np.zeros((8, 8, 2), dtype=np.uint8), "H x W x 3"),
    (np.zeros((2, 8, 8, 3), dtype=np.uint8), "2-D"),
    (np.zeros((0, 8), dtype=np.uint8), "empty"),
])
def test_bad_arrays_are_rejected(arr, pattern):
    with pytest.raises(metrics.MetricInputError, match=pattern):
        metrics.en(arr, arr, arr)


def test_trailing_singleton_channel_is_grey():
    assert metrics.compute(F[..., None], A[..., None], B) == metrics.compute(F, A, B)


@pytest.mark.parametrize("metric, convention, size, minimum", [
    ("MS-SSIM", "tang2023", 43, 44),
    ("MS-SSIM", "vifb", 43, 44),
    ("MS-SSIM", "ivifzoo", 160, 161),
    ("VIF", "tang2023", 40, 41),
    ("VIF", "cddfuse", 40, 41),
    ("VIFF", "tang2023", 40, 41),
    ("SF", "tang2023", 1, 2),
    ("AG", "cddfuse", 1, 2),
])
def test_too_small_images_are_rejected_with_the_minimum(metric, convention, size, minimum):
    f, a, b = synthetic_triplet(max(size, 8) + 40, max(size, 8) + 40)
    f, a, b = f[:size, :], a[:size, :], b[:size, :]
    with pytest.raises(metrics.ImageTooSmallError, match=f"at least {minimum} x {minimum}"):
        metrics.compute(f, a, b, [metric], convention=convention)
    f2, a2, b2 = synthetic_triplet(minimum + 3, minimum + 5)
    value = metrics.compute(f2[:minimum], a2[:minimum], b2[:minimum], [metric],
                            convention=convention)[metric]
    assert np.isfinite(value)


def test_unknown_metric_and_convention_suggest_the_closest_name():
    with pytest.raises(metrics.UnknownMetricError, match="did you mean 'Qabf'"):
        metrics.get_metric("Qab")
    with pytest.raises(metrics.UnknownMetricError, match="did you mean 'MS-SSIM'"):
        metrics.compute(F, A, B, ["MSSIM"])
    with pytest.raises(metrics.UnknownConventionError, match="did you mean .*'tang2022'"):
        metrics.compute(F, A, B, ["EN"], convention="tang2021")
    with pytest.raises(ValueError):
        metrics.en(F, A, B, convention="matlab")


def test_keyword_only_options():
    with pytest.raises(TypeError):
        metrics.en(F, A, B, "tang2022")  # convention must be passed by keyword
    with pytest.raises(ValueError, match="source_order"):
        metrics.viff(F, A, B, source_order="ir-first")


def test_zero_to_one_float_data_triggers_a_warning():
    with pytest.warns(metrics.InputRangeWarning, match="multiply"):
        metrics.sd(F / 255.0, A / 255.0, B / 255.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sources", ["uint8", "float 0-255"])
def test_unit_scale_fused_with_byte_scale_sources_is_refused(dtype, sources):
    """A [0, 1] float fused image with 0-255 sources used to score EN 1.0, VIFF 0.0, MS-SSIM
    0.086 without a word; it is refused, naming the arrays, dtypes, ranges and the fix."""
    fused = (F / 255.0).astype(dtype)
    a, b = (A, B) if sources == "uint8" else (A.astype(np.float64), B.astype(np.float64))
    for call in (lambda: metrics.compute(fused, a, b),
                 lambda: metrics.en(fused, a, b, convention="ivifzoo"),
                 lambda: metrics.viff(fused, a, b)):
        with pytest.raises(metrics.MetricInputError) as e:
            call()
        msg = str(e.value)
        assert f"fused ({np.dtype(dtype).name}, min {fused.min():g}, max {fused.max():g})" in msg
        assert f"ir ({a.dtype}, min {A.min():g}, max {A.max():g})" in msg
        assert f"vis ({b.dtype}" in msg
        assert "multiply fused by 255" in msg


def test_unit_scale_source_beside_a_byte_scale_image_is_refused():
    with pytest.raises(metrics.MetricInputError, match=r"multiply vis by 255") as e:
        metrics.compute(F, A, B / 255.0, ["EN"])
    assert "ir (uint8" in str(e.value) and "fused (uint8" in str(e.value)


def test_scale_rule_edge_cases():
    dark = np.zeros_like(F, dtype=np.float64)
    dark[0, 0] = 1.0
    # all-zero float fused image: no scale (0 * 255 = 0), scored as given, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", metrics.InputRangeWarning)
        zero = metrics.compute(np.zeros(F.shape), A, B, ["EN", "SD"])
    assert zero["SD"] == 0.0
    # a float image holding grey levels 0 and 1 is ambiguous and refused; as uint8 it is levels
    with pytest.raises(metrics.MetricInputError, match="different scales"):
        metrics.compute(dark, A, B, ["EN"])
    assert metrics.compute(dark.astype(np.uint8), A, B, ["SD"])["SD"] > 0.0
    # a constant [0, 1] float fused image is refused too; one above 1 is a grey level
    with pytest.raises(metrics.MetricInputError, match="different scales"):
        metrics.compute(np.full(F.shape, 0.5), A, B, ["EN"])
    assert metrics.compute(np.full(F.shape, 1.5), A, B, ["SD"])["SD"] == 0.0
    # sources in [0, 1] with an all-zero fused image: all on one scale, warned as before
    with pytest.warns(metrics.InputRangeWarning):
        metrics.compute(np.zeros(F.shape), A / 255.0, B / 255.0, ["SD"])


def test_non_integer_float_is_quantised_with_a_warning_for_histograms():
    x = F.astype(np.float64) + 0.25
    x = np.minimum(x, 255.0)
    with pytest.warns(metrics.QuantizationWarning):
        value = metrics.en(x, A, B)
    assert value == metrics.en(np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8), A, B)


@pytest.mark.parametrize("convention", list(metrics.CONVENTIONS))
def test_constant_images_give_reference_values_without_runtime_warnings(convention):
    F, A, B = synthetic_triplet(168, 176)  # ivifzoo MS-SSIM needs > 160
    const = np.full_like(F, 77)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", metrics.MetricWarning)
        fused_const = metrics.compute(const, A, B, convention=convention)
        src_const = metrics.compute(F, const, B, convention=convention)
        all_const = metrics.compute(const, const, const, convention=convention)
    assert fused_const["EN"] == pytest.approx(0.0, abs=2e-7)  # ivifzoo: -1.4e-7 (its 1e-7 bias)
    for key in ("SD", "SF", "AG"):
        assert fused_const[key] == 0.0
    if convention != "ivifzoo":           # ivifzoo EI pads with zeros: borders of a constant != 0
        assert fused_const["EI"] == 0.0
    assert np.isnan(fused_const["CC"])    # MATLAB corr2 / numpy: 0/0
    assert fused_const["MI"] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(src_const["CC"]) and np.isnan(src_const["SCD"])
    if convention == "cddfuse":           # CDDFuse replaces the NaN vifp term by 1.0
        assert np.isfinite(src_const["VIF"]) and src_const["VIF"] >= 1.0
    elif convention == "ivifzoo":         # zero 'same' padding: the borders are not constant
        assert np.isfinite(src_const["VIF"])
    else:
        assert np.isnan(src_const["VIF"])  # vifp(const, F) = 0/0 in the reference code too
    for key in ("VIFF", "Qabf", "MS-SSIM"):
        assert np.isfinite(src_const[key]), key
    assert np.isfinite(all_const["VIFF"])


def test_nan_results_are_flagged_once_with_a_metric_warning():
    const = np.full_like(F, 77)
    with pytest.warns(metrics.UndefinedValueWarning, match="CC is undefined"):
        assert np.isnan(metrics.cc(const, A, B))


def test_cddfuse_nan_replacement_is_visible():
    const = np.full_like(A, 50)
    with pytest.warns(metrics.NaNTermReplacedWarning, match="returns 1.0"):
        v = metrics.vif(F, const, B, convention="cddfuse")
    vifp_vis = metrics.vif(F, B, B, convention="cddfuse") / 2.0  # IR = VIS: twice vifp(VIS, F)
    assert v == pytest.approx(1.0 + vifp_vis, rel=1e-12)
