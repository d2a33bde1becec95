"""`ls`, `validate` and a run of weight-free fusers never import torch or the deep models."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "models.dmnet", "models.red", "models.training")


def _python(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_ls_validate_and_weight_free_run_do_not_import_torch(tmp_path):
    code = f"""
import sys
HEAVY = {HEAVY!r}
def heavy():
    return sorted(m for m in sys.modules if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY)))
import benchmark, models, metrics
assert not heavy(), ("import", heavy())
from benchmark.cli import main
assert main(["ls"]) == 0 and main(["ls", "--fusers", "-v"]) == 0, "ls failed"
assert not heavy(), ("ls", heavy())
assert main(["validate", "--data-root", sys.argv[1], "--no-decode"]) in (0, 1)
assert not heavy(), ("validate", heavy())
rc = main(["run", "--fusers", "mean", "gff", "--metrics", "EN", "SD", "--limit", "2", "--out", sys.argv[2],
           "--leaderboard", sys.argv[2] + "/lb.md", "--no-progress"])
assert rc == 0, rc
assert not heavy(), ("run", heavy())
models.create_fuser("dmnet-tiny")      # building a deep fuser does import them: the entries are real
assert "torch" in sys.modules and "models.dmnet.fuser" in sys.modules
print("LAZY-OK")
"""
    res = _python(["-c", code, str(tmp_path / "no-data"), str(tmp_path / "res")], cwd=tmp_path)
    assert res.returncode == 0 and "LAZY-OK" in res.stdout, res.stderr[-3000:]
    assert (tmp_path / "res" / "lb.md").is_file()


def test_importtime_of_ls_mentions_no_torch(tmp_path):
    res = _python(["-X", "importtime", "-m", "benchmark", "ls"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "import time:" in res.stderr                       # the trace is there ...
    imported = [line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines() if line.startswith("import time:")]
    # ... without torch (metrics._torch_f32, which imports torch only when called, may appear)
    assert [m for m in imported if m == "torch" or m.startswith("torch.")] == []
