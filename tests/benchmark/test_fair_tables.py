"""Fair tables: a mean is compared only with means over the same pairs, no fuser disappears, and the
result files count fusion failures, missing fused files and undefined metric values separately."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.outcomes import PairOutcome, RunOutcome
from benchmark.report import render_leaderboard, strip_measured
from benchmark.results import COUNT_COLUMNS, SUMMARY_COLUMNS, per_image_frame, summary_frame

INFO = {m: {"display_name": m, "higher_is_better": True, "units": "bits", "version": "1.0",
            "effective_source": "tang2023"} for m in ("EN", "VIF")}


def _summary(rows, *, pairs=4, failures=(), missing=(), fusers=None, run_id="r1", conv="tang2023"):
    """A hand-built summary.json; ``rows`` maps (fuser, metric) -> (mean, count[, undefined])."""
    fusers = fusers or list(dict.fromkeys(f for f, _ in rows))
    summary = []
    for (f, m), v in rows.items():
        mean, count, *undef = v
        summary.append({"dataset": "tno", "fuser": f, "metric": m, "convention": conv, "mean": mean, "std": 0.0,
                        "count": count, "failures": 0, "units": "bits", "pairs": pairs,
                        **({"undefined": undef[0]} if undef else {})})
    return {"run_id": run_id, "created": "2026-01-01T00:00:00+00:00", "convention": conv, "metrics": list(INFO),
            "metric_info": INFO,
            "datasets": {"tno": {"title": "TNO", "split": "tno-25", "official_count": 25, "found": pairs,
                                 "pairs": pairs, "complete": False, "limited": False}},
            "fusers": {f: {"framework": "NumPy", "params": None, "weights": "weight-free", "output_policy": "none",
                           "reference": "ref"} for f in fusers},
            "summary": summary, "latency": [], "failures": list(failures), "missing": list(missing),
            "unmatched": [], "efficiency": [], "plots": {}, "device": "cpu", "hardware": {},
            "git": {"commit": "abc", "dirty": False}}


def _rows(text: str, title: str = "## TNO — `tang2023`") -> dict[str, list[str]]:
    table = text[text.index(title):].split("\n\n")[2].splitlines()
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.split("|")[1:-1]] for line in table[2:])}


def _fail(fuser, pair, message="boom"):
    return {"dataset": "tno", "fuser": fuser, "pair": pair, "message": message}


def test_a_mean_over_fewer_pairs_shows_n_of_N_and_is_not_ranked():
    # 'partial' has the highest EN but over 3 of the 4 pairs: it must not win bold
    s = _summary({("partial", "EN"): (9.0, 3), ("a", "EN"): (7.0, 4), ("b", "EN"): (6.0, 4), ("c", "EN"): (5.0, 4)},
                 failures=[_fail("partial", "p4")])
    rows = _rows(render_leaderboard([s]))
    assert rows["partial"] == ["9.0000 (3/4)"]
    assert rows["a"] == ["**7.0000**"] and rows["b"] == ["<u>6.0000</u>"] and rows["c"] == ["5.0000"]


def test_a_fuser_that_failed_everywhere_keeps_its_row_and_first_message():
    # an older summary.json without rows for the failed fuser: it still gets its row from the failures
    s = _summary({("a", "EN"): (7.0, 4), ("b", "EN"): (6.0, 4)}, fusers=["a", "b", "dead"],
                 failures=[_fail("dead", f"p{i}", f"CUDA out of memory on p{i}") for i in range(1, 5)])
    text = strip_measured(render_leaderboard([s]))
    assert _rows(text)["dead"] == ["failed 4/4"]
    assert "- dead / p1: CUDA out of memory on p1" in text
    many = _summary({("a", "EN"): (7.0, 40)}, fusers=["a", "dead"], pairs=40,
                    failures=[_fail("dead", f"p{i}") for i in range(40)])
    text = render_leaderboard([many])
    assert text.count("- dead / p") == 5 and "- dead: 35 more failed pair(s), listed in the run's summary.json" in text
    assert "| dead " in text[text.index("## Methods"):]          # and in the methods legend
    folder = _summary({("a", "EN"): (7.0, 4)}, fusers=["a", "published"],
                      missing=[_fail("published", f"p{i}", "no file") for i in range(1, 5)])
    text = render_leaderboard([folder])
    assert _rows(text)["published"] == ["missing 4/4"] and "missing 4/4 = no fused image for any pair" in text


def test_when_every_pair_of_every_fuser_fails_the_block_still_shows_the_rows():
    s = _summary({}, fusers=["a", "b"], pairs=2,
                 failures=[_fail(f, p) for f in ("a", "b") for p in ("p1", "p2")])
    text = render_leaderboard([s])
    rows = _rows(text)
    assert rows == {"a": ["failed 2/2", "failed 2/2"], "b": ["failed 2/2", "failed 2/2"]}
    header = text[text.index("## TNO"):].split("\n\n")[2].splitlines()[0]
    assert [h.strip() for h in header.split("|")[1:-1]] == ["Method", "EN ↑", "VIF ↑"]


def test_undefined_metric_values_are_counted_per_metric_in_the_caption():
    s = _summary({("a", "EN"): (7.0, 4, 0), ("a", "VIF"): (0.5, 2, 2), ("b", "EN"): (6.0, 4, 0),
                  ("b", "VIF"): (0.4, 3, 1), ("c", "EN"): (6.5, 4, 0), ("c", "VIF"): (0.3, 4, 0)})
    text = render_leaderboard([s])
    assert "VIF undefined on 2/4 pairs for a, 1/4 pairs for b.*" in text
    rows = _rows(text)
    assert rows["a"][1] == "0.5000 (2/4)" and rows["c"][1] == "0.3000"     # the only full VIF mean: no mark
    # older summaries without the `undefined` column: the pairs neither a value nor a failure explains
    old = _summary({("a", "VIF"): (0.5, 2), ("b", "VIF"): (0.4, 4)}, failures=[_fail("a", "p1")])
    assert "VIF undefined on 1/4 pairs for a" in render_leaderboard([old])


def test_blocks_per_convention_from_a_several_convention_run():
    s = _summary({("a", "EN"): (7.0, 4), ("b", "EN"): (6.0, 4)})
    s["conventions"] = ["tang2023", "vifb"]
    del s["convention"]
    s["summary"] += [{**r, "convention": "vifb", "mean": r["mean"] + 1} for r in s["summary"]]
    s["failures"] = [_fail("b", "p9", "only once")]           # a fusion failure counts under every convention
    text = render_leaderboard([s])
    assert _rows(text)["a"] == ["**7.0000**"] and _rows(text, "## TNO — `vifb`")["a"] == ["**8.0000**"]
    assert text.count("- b / p9: only once") == 2


def _outcome(outcomes, metrics=("EN", "VIF"), pairs=3):
    cfg = SimpleNamespace(convention="tang2023", conventions=["tang2023"], metrics=list(metrics))
    return RunOutcome(cfg, Path("."), outcomes, {"tno": {"pairs": pairs}}, {"ok": {}, "bad": {}, "folder": {}})


def _ok(fuser, pair, **values):
    return PairOutcome("tno", fuser, pair, "ok", values={"tang2023": {
        m: {"value": v, "units": "bits", "effective_source": "tang2023", "version": "1.0",
            "error": None if v is not None else "refused"} for m, v in values.items()}})


def test_summary_counts_failures_missing_and_undefined_separately():
    outcomes = [_ok("ok", "p1", EN=1.0, VIF=0.5), _ok("ok", "p2", EN=2.0, VIF=None), _ok("ok", "p3", EN=3.0, VIF=0.7),
                PairOutcome("tno", "bad", "p1", "failed", "boom"), PairOutcome("tno", "bad", "p2", "failed", "boom"),
                PairOutcome("tno", "bad", "p3", "failed", "boom"),
                _ok("folder", "p1", EN=4.0, VIF=0.1), PairOutcome("tno", "folder", "p2", "missing", "no file"),
                PairOutcome("tno", "folder", "p3", "failed", "unreadable")]
    outcome = _outcome(outcomes)
    summary = summary_frame(per_image_frame(outcome), outcome)
    assert list(summary.columns) == SUMMARY_COLUMNS and SUMMARY_COLUMNS[-4:] == COUNT_COLUMNS
    got = {(r.fuser, r.metric): (r["count"], r.failures, r.pairs, r.fusion_failures, r.missing_fused, r.undefined)
           for _, r in summary.iterrows()}
    assert got == {("ok", "EN"): (3, 0, 3, 0, 0, 0), ("ok", "VIF"): (2, 1, 3, 0, 0, 1),
                   ("bad", "EN"): (0, 3, 3, 3, 0, 0), ("bad", "VIF"): (0, 3, 3, 3, 0, 0),   # failed everywhere: rows
                   ("folder", "EN"): (1, 1, 3, 1, 1, 0), ("folder", "VIF"): (1, 1, 3, 1, 1, 0)}
    assert summary.set_index(["fuser", "metric"]).loc[("bad", "EN"), "mean"] != summary.loc[0, "mean"]  # NaN
    assert (summary["count"] + summary[["fusion_failures", "missing_fused", "undefined"]].sum(axis=1)
            == summary["pairs"]).all()


@pytest.mark.slow
def test_a_run_with_failing_fusers_writes_fair_files_and_table(tmp_path):
    """End to end: Patchy fails 3 of the 8 synthetic pairs and has the highest EN on the others;
    Broken fails all 8."""
    out, lb = tmp_path / "res", tmp_path / "lb.md"
    rc = main(["run", "--fusers", "tests.plugins.user_fusers:Patchy", "tests.plugins.user_fusers:Broken", "mean",
               "max", "--metrics", "EN", "--out", str(out), "--run-id", "r", "--leaderboard", str(lb),
               "--no-plots", "--no-progress"])
    assert rc == 1
    csv = pd.read_csv(out / "r" / "summary.csv").set_index("fuser")
    assert csv.loc["Patchy", ["count", "pairs", "fusion_failures", "missing_fused", "undefined"]].tolist() == [5, 8, 3, 0, 0]
    assert csv.loc["Broken", ["count", "fusion_failures"]].tolist() == [0, 8]
    doc = json.loads((out / "r" / "summary.json").read_text())
    assert {(r["fuser"], r["fusion_failures"]) for r in doc["summary"]} == {("Patchy", 3), ("Broken", 8),
                                                                            ("mean", 0), ("max", 0)}
    text = lb.read_text()
    rows = _rows(text, "## Synthetic (embedded) — `tang2023`")
    assert rows["Broken"] == ["failed 8/8"] and rows["Patchy"][0].endswith("(5/8)")
    assert "**" not in rows["Patchy"][0] and rows["max"] == [f"**{csv.loc['max', 'mean']:.4f}**"]
    assert csv.loc["Patchy", "mean"] > csv.loc["max", "mean"]       # it would have won, had it been ranked
