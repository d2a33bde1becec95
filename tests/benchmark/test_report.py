"""Leaderboard rendering rules: best/second marks follow the registry's direction; ties share."""
from benchmark.report import rank_marks, strip_measured, MEASURED_BEGIN, MEASURED_END


def test_rank_marks_follow_direction_and_ties():
    vals = {"a": 1.0, "b": 3.0, "c": 2.0, "d": 3.0, "e": None}
    assert rank_marks(vals, True) == {"b": "best", "d": "best", "c": "second"}
    assert rank_marks(vals, False) == {"a": "best", "c": "second"}
    assert rank_marks({"only": 1.0, "x": None}, True) == {}


def test_strip_measured():
    text = f"# T\n\n| q |\n\n{MEASURED_BEGIN}\ntime 1.23\n{MEASURED_END}\n"
    assert strip_measured(text) == "# T\n\n| q |\n"
