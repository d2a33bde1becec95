"""Smoke test of benchmarks/red_memory.py (fresh subprocess per mode; tiny model, tiny crop).
The memory figures themselves come from real runs recorded in benchmarks/README.md."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_red_memory_script_runs(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("red_memory", ROOT / "benchmarks" / "red_memory.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "mem.json"
    assert mod.main(["--variant", "tiny", "--size", "16", "--batch", "1", "--modes", "both,none",
                     "--json", str(out)]) == 0
    recs = json.loads(out.read_text())
    assert [r["mode"] for r in recs] == ["both", "none"]
    for r in recs:
        assert r["rss_peak_mb"] >= r["rss_before_step_mb"] > 0
        assert r["loss"] == recs[0]["loss"]  # same step in both modes
    table = capsys.readouterr().out
    assert "| both |" in table and "| none |" in table and "1.000" in table
