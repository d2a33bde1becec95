"""The convention-sensitivity table: one per dataset evaluated under several conventions."""
from __future__ import annotations

import copy

import pytest

from benchmark.report import render_leaderboard
from benchmark.sensitivity import relative_spread

INFO = {"EN": {"display_name": "EN", "higher_is_better": True, "units": "bits", "version": "1.0"},
        "MI": {"display_name": "MI", "higher_is_better": True, "units": "bits", "version": "1.0"}}


def _run(run_id, conv, rows, *, pairs=3, info=None, conventions=None):
    info = copy.deepcopy(info or INFO)
    return {"run_id": run_id, "created": "2026-01-01T00:00:00+00:00", "convention": conv, "metrics": list(info),
            "metric_info": info, "datasets": {"tno": {"title": "TNO", "split": "tno-25", "official_count": 25,
                                                      "found": pairs, "pairs": pairs, "complete": False}},
            "fusers": {f: {} for f in dict.fromkeys(f for _c, f, _m in rows)},
            "summary": [{"dataset": "tno", "fuser": f, "metric": m, "convention": c, "mean": v[0], "std": 0.0,
                         "count": v[1], "failures": 0, "units": "bits"} for (c, f, m), v in rows.items()],
            "latency": [], "failures": [], "missing": [], "unmatched": [], "efficiency": [], "plots": {},
            "device": "cpu", "hardware": {}, "git": {}, **({"conventions": conventions} if conventions else {})}


def _sensitivity(text):
    block = text[text.index("## TNO — convention sensitivity"):]
    caption, table = block.split("\n\n")[1], block.split("\n\n")[2].splitlines()
    return caption, [[c.strip() for c in line.split("|")[1:-1]] for line in table]


def test_relative_spread():
    assert relative_spread([1.0, 3.0]) == pytest.approx(1.0)            # (3 − 1) / 2
    assert relative_spread([2.0, None, float("nan"), 2.0]) == 0.0
    assert relative_spread([-1.0, -3.0]) == pytest.approx(1.0)          # |mean|
    assert relative_spread([1.0]) is None and relative_spread([1.0, -1.0]) is None


def test_small_spreads_keep_two_significant_digits():
    from benchmark.sensitivity import _percent

    assert [_percent(x) for x in (None, 0.0, 1.5e-5, 0.2)] == ["—", "0 %", "0.0015 %", "20.0 %"]


def test_one_convention_has_no_sensitivity_table():
    assert "convention sensitivity" not in render_leaderboard([_run("r", "tang2023", {("tang2023", "a", "EN"): (7.0, 3)})])


def test_a_several_convention_run_gets_blocks_and_the_table():
    rows = {("tang2023", "a", "EN"): (6.0, 3), ("vifb", "a", "EN"): (6.6, 3), ("cddfuse", "a", "EN"): (5.4, 3),
            ("tang2023", "b", "EN"): (7.0, 3), ("vifb", "b", "EN"): (7.0, 2), ("cddfuse", "b", "EN"): (7.0, 3)}
    run = _run("r", "tang2023", rows, conventions=["tang2023", "vifb", "cddfuse"])
    del run["convention"]                                               # newer runs: a list of conventions
    text = render_leaderboard([run])
    titles = [line for line in text.splitlines() if line.startswith("## TNO")]
    assert titles == ["## TNO — `tang2023`", "## TNO — `vifb`", "## TNO — `cddfuse`", "## TNO — convention sensitivity"]
    caption, table = _sensitivity(text)
    assert table[0] == ["Metric", "Method", "`tang2023`", "`vifb`", "`cddfuse`", "Spread"]
    assert table[2] == ["EN ↑", "a", "6.0000", "6.6000", "5.4000", "20.0 %"]          # 1.2 / 6.0
    assert table[3] == ["EN ↑", "b", "7.0000", "7.0000 (2/3)", "7.0000", "0 %"]      # partial mean left out
    assert "Units differ" not in caption


def test_merged_single_convention_runs_and_units_that_differ():
    nats = copy.deepcopy(INFO)
    nats["MI"]["units"] = "nats"
    a = _run("r1", "tang2023", {("tang2023", "a", "MI"): (2.0, 3), ("tang2023", "a", "EN"): (7.0, 3)})
    b = _run("r2", "cddfuse", {("cddfuse", "a", "MI"): (1.0, 3)}, info=nats)
    caption, table = _sensitivity(render_leaderboard([a, b]))
    assert ["MI ↑", "a", "2.0000", "1.0000", "66.7 %"] in table
    assert ["EN ↑", "a", "7.0000", "—", "—"] in table                              # not computed under cddfuse
    assert "Units differ: MI in bits (`tang2023`), nats (`cddfuse`)" in caption


def test_metric_info_nested_by_convention_is_read_per_convention():
    rows = {("tang2023", "a", "MI"): (2.0, 3), ("cddfuse", "a", "MI"): (1.0, 3)}
    run = _run("r", "tang2023", rows, conventions=["tang2023", "cddfuse"])
    run["metric_info"] = {"tang2023": INFO, "cddfuse": {**INFO, "MI": {**INFO["MI"], "display_name": "MI (nats)",
                                                                        "units": "nats"}}}
    text = render_leaderboard([run])
    assert "| MI (nats) ↑" in text[text.index("## TNO — `cddfuse`"):]
    assert "Units differ: MI in bits (`tang2023`), nats (`cddfuse`)" in _sensitivity(text)[0]
