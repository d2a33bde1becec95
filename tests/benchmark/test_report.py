"""Leaderboard rendering rules, read from each run's recorded provenance (never the live registry)."""
from __future__ import annotations

import copy

from benchmark.report import (MEASURED_BEGIN, MEASURED_END, merge_orders, rank_marks, render_leaderboard,
                              strip_measured)

HW_A = {"cpu": "CPU-A", "cpu_count": "8", "torch": "2.0", "device_name": "CPU-A"}
HW_B = {"cpu": "CPU-B", "cpu_count": "4", "torch": "2.0", "device_name": "CPU-B"}


def _summary(run_id="r1", conv="tang2023", *, info=None, rows=None, pairs=3, official=3, limited=False,
             latency=None, failures=(), missing=()):
    info = info or {"EN": {"display_name": "EN", "higher_is_better": True, "units": "bits", "version": "1.0",
                           "effective_source": conv},
                    "MI": {"display_name": "MI", "higher_is_better": True, "units": "bits", "version": "1.0",
                           "effective_source": conv}}
    rows = rows if rows is not None else {("a", "EN"): 7.0, ("b", "EN"): 6.0, ("c", "EN"): 6.5,
                                          ("a", "MI"): 2.0, ("b", "MI"): 3.0, ("c", "MI"): None}
    return {"run_id": run_id, "created": "2026-01-01T00:00:00+00:00", "convention": conv, "metrics": list(info),
            "metric_info": info,
            "datasets": {"msrs": {"title": "MSRS", "split": "msrs-test", "official_count": official, "found": pairs,
                                  "pairs": pairs, "complete": pairs == official, "limited": limited}},
            "fusers": {f: {"framework": "NumPy", "params": None, "weights": "weight-free", "output_policy": "none",
                           "reference": "ref"} for f in sorted({f for f, _ in rows})},
            "summary": [{"dataset": "msrs", "fuser": f, "metric": m, "convention": conv, "mean": v, "std": 0.0,
                         "count": pairs, "failures": 0, "units": "bits"} for (f, m), v in rows.items()],
            "latency": latency or [], "failures": list(failures), "missing": list(missing), "unmatched": [],
            "efficiency": [], "plots": {}, "device": "cpu", "hardware": HW_A, "git": {"commit": "abc", "dirty": False}}


def _table(text: str, title: str = "## MSRS — `tang2023`") -> list[str]:
    block = text[text.index(title):]
    return [line for line in block.split("\n\n")[2].splitlines()]


def test_rank_marks_follow_direction_and_ties():
    vals = {"a": 1.0, "b": 3.0, "c": 2.0, "d": 3.0, "e": None}
    assert rank_marks(vals, True) == {"b": "best", "d": "best", "c": "second"}
    assert rank_marks(vals, False) == {"a": "best", "c": "second"}
    assert rank_marks({"only": 1.0, "x": None}, True) == {}


def test_strip_measured():
    text = f"# T\n\n| q |\n\n{MEASURED_BEGIN}\ntime 1.23\n{MEASURED_END}\n"
    assert strip_measured(text) == "# T\n\n| q |\n"


def test_columns_names_and_arrows_come_from_the_stored_metric_info():
    s = _summary()
    # a run that recorded MI first, under another display name, lower-is-better: rendered as recorded
    s["metric_info"] = {"MI": {**s["metric_info"]["MI"], "display_name": "Mutual info", "higher_is_better": False},
                        "EN": s["metric_info"]["EN"]}
    header, _, a, b, c = _table(render_leaderboard([s]))
    assert header.split("|")[2].strip() == "Mutual info ↓" and header.split("|")[3].strip() == "EN ↑"
    assert "**2.0000**" in a and "<u>3.0000</u>" in b and "—" in c   # lower MI is best now; undefined: no mark
    assert "**7.0000**" in a and "<u>6.5000</u>" in c


def test_merged_runs_keep_each_runs_metric_order():
    assert merge_orders([["EN", "SD"], ["EN", "SF", "AG", "SD", "MI"]]) == ["EN", "SF", "AG", "SD", "MI"]
    assert merge_orders([["b", "a"], ["a", "b"]]) == ["b", "a"]            # disagreement: the earlier run wins
    first = _summary("r1", rows={("a", "EN"): 7.0, ("b", "EN"): 6.0})
    second = _summary("r2", rows={("a", "MI"): 1.0, ("b", "MI"): 2.0})
    second["metric_info"] = {"EN": first["metric_info"]["EN"], "SD": {**first["metric_info"]["EN"],
                                                                       "display_name": "SD"},
                             "MI": first["metric_info"]["MI"]}
    header = _table(render_leaderboard([first, second]))[0]
    assert [h.strip() for h in header.split("|")[1:-1]] == ["Method", "EN ↑", "MI ↑"]


def test_later_runs_replace_rows_and_conventions_get_their_own_blocks():
    old = _summary("r1", rows={("a", "EN"): 1.0, ("b", "EN"): 2.0})
    new = _summary("r2", rows={("a", "EN"): 5.0})
    other = _summary("r3", conv="vifb", rows={("a", "EN"): 9.0, ("b", "EN"): 8.0})
    text = render_leaderboard([old, new, other])
    rows = _table(text)[2:]
    assert rows[0].startswith("| a") and "**5.0000**" in rows[0] and "<u>2.0000</u>" in rows[1]
    assert "## MSRS — `vifb`" in text and "9.0000" in _table(text, "## MSRS — `vifb`")[2]
    assert "9.0000" not in strip_measured(text).split("## MSRS — `vifb`")[0]


def test_captions_state_subsets_units_and_fallbacks():
    s = _summary(pairs=2, official=361, limited=True)
    s["metric_info"]["MI"]["units"] = "nats"
    s["metric_info"]["EN"]["effective_source"] = "vifb"
    text = render_leaderboard([s])
    assert "**subset**: 2 of the 361 pairs of the official split msrs-test (--limit)" in text
    assert "(MI in nats); fallbacks: EN from `vifb`." in text
    full = render_leaderboard([_summary()])
    assert "complete official split msrs-test (3 pairs)" in full and "fallbacks" not in full


def test_failures_and_missing_pairs_are_listed_under_their_table():
    s = _summary(failures=[{"dataset": "msrs", "fuser": "b", "pair": "p1", "message": "boom\nmore"}],
                 missing=[{"dataset": "msrs", "fuser": "c", "pair": "p2", "message": "no file"}])
    text = strip_measured(render_leaderboard([s]))
    assert "Failed pairs (1), excluded from the means:\n\n- b / p1: boom\n" in text
    assert "Pairs without a fused image in a result folder: c: 1 (p2)" in text


def test_a_version_change_between_merged_runs_is_flagged():
    a = _summary("r1", rows={("a", "EN"): 1.0})
    b = _summary("r2", rows={("b", "EN"): 2.0})
    assert "Metric versions differ" not in render_leaderboard([a, b])
    b2 = copy.deepcopy(b)
    b2["metric_info"]["EN"]["version"] = "2.0"
    text = strip_measured(render_leaderboard([a, b2]))
    assert "**Metric versions differ between the merged runs** (EN v1.0 (r1), v2.0 (r2))" in text


def test_measured_times_are_captioned_with_the_hardware_they_were_measured_on():
    lat = lambda f, hw: {"dataset": "msrs", "fuser": f, "mean_s": 0.5, "std_s": 0.1, "count": 3, "device": "cpu",
                         "hardware": hw}
    one = render_leaderboard([_summary(latency=[lat("a", [HW_B]), lat("b", [HW_B])])])
    assert "Measured on CPU CPU-B (4 logical cores), PyTorch 2.0.*" in one      # not the run's own HW_A
    several = render_leaderboard([_summary(latency=[lat("a", [HW_A]), lat("b", [HW_A, HW_B]), lat("c", [None])])])
    assert ("Measured on: [1] CPU CPU-A (8 logical cores), PyTorch 2.0; [2] CPU CPU-B (4 logical cores), "
            "PyTorch 2.0; [3] unknown hardware") in several
    assert "| a        | 0.5000 ± 0.1000 [1]" in several and "0.5000 ± 0.1000 [1, 2]" in several
    assert "0.5000 ± 0.1000 [3]" in several
    assert strip_measured(one) == strip_measured(several)      # the machine never reaches the quality tables


def test_report_renders_the_metric_info_stored_in_a_finished_run(tmp_path):
    """End to end: a run's summary.json, edited as an older or newer harness might have written it,
    is rendered as stored (name, order, arrow, version), not as the live registry says."""
    import json

    from benchmark.cli import main

    out, lb = tmp_path / "res", tmp_path / "lb.md"
    assert main(["run", "--fusers", "mean", "max", "--metrics", "EN", "SD", "--limit", "2", "--out", str(out),
                 "--run-id", "r", "--leaderboard", "none", "--no-plots", "--no-progress"]) == 0
    path = out / "r" / "summary.json"
    doc = json.loads(path.read_text())
    info = doc["metric_info"]
    doc["metric_info"] = {"SD": {**info["SD"], "display_name": "Std-dev", "higher_is_better": False,
                                 "version": "9.9"}, "EN": info["EN"]}
    path.write_text(json.dumps(doc))
    assert main(["report", "--runs", str(out / "r"), "--leaderboard", str(lb)]) == 0
    text = lb.read_text()
    header = _table(text, "## Synthetic (embedded) — `tang2023`")[0]
    assert [h.strip() for h in header.split("|")[1:-1]] == ["Method", "Std-dev ↓", "EN ↑"]
    assert "Std-dev v9.9" in text
