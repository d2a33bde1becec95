"""evaluate_pair: per metric exactly what metrics.compute gives (one metric at a time where the images
are refused), with provenance, isolated errors and warnings; evaluate_conventions: evaluate_pair per
convention."""
from __future__ import annotations

import numpy as np
import pytest

import metrics
from benchmark.datasets import get_dataset
from benchmark.evaluation import NAN_ERROR, evaluate_conventions, evaluate_pair


def _random(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _synthetic_colour_pair():
    ir, vis = get_dataset("synthetic").listing("./data").pairs[0].raw()
    fused = np.round((ir.astype(float) + vis.mean(axis=2)) / 2).astype(np.uint8)
    return fused, ir, vis, list(metrics.METRICS), "tang2023"


def _constant():
    img = np.full((64, 64), 7, np.uint8)
    return img, img.copy(), img.copy(), list(metrics.METRICS), "tang2023"


CASES = {   # name: () -> (fused, ir, vis, metric keys, convention)
    "synthetic colour pair, all metrics": _synthetic_colour_pair,
    "constant images (NaN values, warnings)": _constant,
    "too small for some metrics (isolated errors)": lambda: (
        _random((20, 24), 1), _random((20, 24), 2), _random((20, 24, 3), 3), list(metrics.METRICS), "tang2023"),
    "grey pair, other convention, subset": lambda: (
        _random((48, 56), 4), _random((48, 56), 5), _random((48, 56), 6), ["MI", "EN", "Qabf"], "vifb"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate_pair_gives_what_metrics_compute_gives(case):
    fused, ir, vis, keys, conv = CASES[case]()
    got = evaluate_pair(fused, ir, vis, keys, conv)
    assert list(got) == keys
    try:                                    # one call for all (as evaluate_pair does; shared work)
        together = metrics.compute(fused, ir, vis, metrics=keys, convention=conv)
    except ValueError:                      # refused by one of them: each metric alone
        together = None
    for m in keys:
        try:
            want = (together or metrics.compute(fused, ir, vis, metrics=[m], convention=conv))[m]
        except ValueError as exc:           # refused: the record carries the message, no value
            assert got[m]["value"] is None and got[m]["error"] == str(exc), m
            continue
        prov = metrics.provenance(m, conv)
        assert {k: got[m][k] for k in ("units", "effective_source", "version")} == \
            {k: prov[k] for k in ("units", "effective_source", "version")}, m
        if np.isnan(want):
            assert got[m]["value"] is None and got[m]["error"] == NAN_ERROR, m
        else:
            assert got[m]["value"] == want and got[m]["error"] is None, m


def test_errors_and_warnings_are_kept_per_metric():
    fused, ir, vis, keys, conv = CASES["too small for some metrics (isolated errors)"]()
    out = evaluate_pair(fused, ir, vis, keys, conv)
    refused = [m for m, v in out.items() if v["value"] is None]
    assert refused and len(refused) < len(keys)
    assert all("at least" in out[m]["error"] for m in refused)
    fused, ir, vis, keys, conv = CASES["constant images (NaN values, warnings)"]()
    out = evaluate_pair(fused, ir, vis, keys, conv)
    assert out["CC"]["value"] is None and out["CC"]["error"] == NAN_ERROR
    assert any("UndefinedValueWarning" in w for w in out["CC"]["warnings"])


def test_convention_must_be_one_name():
    fused, ir, vis, keys, _ = CASES["grey pair, other convention, subset"]()
    with pytest.raises(ValueError, match="convention must be one convention name"):
        evaluate_pair(fused, ir, vis, keys, ["tang2023"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate_conventions_equals_evaluate_pair_per_convention(case):
    """One pass for every convention gives exactly the records of one call per convention: values
    bit for bit, errors isolated per convention and metric, warnings per convention."""
    fused, ir, vis, keys, _ = CASES[case]()
    convs = list(metrics.CONVENTIONS)
    got = evaluate_conventions(fused, ir, vis, keys, convs)
    assert list(got) == convs
    for c in convs:
        assert got[c] == evaluate_pair(fused, ir, vis, keys, c), c


def test_evaluate_conventions_isolates_errors_per_convention():
    fused, ir, vis = (_random((100, 120), s) for s in (7, 8, 9))  # ivifzoo MS-SSIM needs > 160
    out = evaluate_conventions(fused, ir, vis, ["EN", "MS-SSIM"], ["tang2023", "ivifzoo"])
    assert out["tang2023"]["MS-SSIM"]["error"] is None
    assert "at least 161" in out["ivifzoo"]["MS-SSIM"]["error"]
    assert out["ivifzoo"]["EN"]["error"] is None and out["ivifzoo"]["EN"]["value"] > 7.9
    refused = evaluate_conventions(fused[:50], ir, vis, ["EN"], ["tang2023", "vifb"])
    assert all("image sizes differ" in refused[c]["EN"]["error"] for c in ("tang2023", "vifb"))
