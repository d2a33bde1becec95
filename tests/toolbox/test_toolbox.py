"""The leaf toolbox: registry (did-you-mean, unregister, temporary entries), hashing, atomic writes."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ivif_toolbox import (Registry, UnknownNameError, atomic_link_or_copy, atomic_open, atomic_write_bytes,
                          atomic_write_json, atomic_write_text, direction_arrow, sha256_file)

REPO = Path(__file__).resolve().parents[2]


def test_registry_lookup_is_case_insensitive_and_suggests():
    reg: Registry[int] = Registry("colour")
    reg.add("Red", 1)
    reg.add("green", 2)
    assert reg.get("RED") == 1 and "red" in reg and "blue" not in reg and 3 not in reg
    assert reg.names() == ["red", "green"] and len(reg) == 2 and list(reg) == ["red", "green"]
    with pytest.raises(UnknownNameError) as err:
        reg.get("gren")
    assert "did you mean 'green'" in str(err.value) and err.value.suggestions[0] == "green"
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("RED", 3)
    reg.add("red", 3, overwrite=True)
    assert reg.get("red") == 3
    with pytest.raises(ValueError, match="non-empty string"):
        reg.add("", 4)


def test_registry_unregister_and_temporary_entries():
    reg: Registry[str] = Registry("thing")
    reg.add("a", "A")
    with reg.temporarily("b", "B") as entry:
        assert entry == "B" and reg.get("b") == "B"
    assert "b" not in reg
    with pytest.raises(RuntimeError):
        with reg.temporarily("c", "C"):
            raise RuntimeError("boom")
    assert "c" not in reg                       # removed even when the block fails
    with pytest.raises(ValueError, match="already registered"):
        with reg.temporarily("a", "other"):
            pass
    assert reg.get("a") == "A"                  # a clash leaves the existing entry alone
    assert reg.unregister("A") == "A" and "a" not in reg
    with pytest.raises(UnknownNameError):
        reg.unregister("a")


def test_sha256_file(tmp_path):
    p = tmp_path / "x.bin"
    data = os.urandom(3 * 1024 + 5)
    p.write_bytes(data)
    assert sha256_file(p, chunk=1024) == hashlib.sha256(data).hexdigest()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_atomic_writes_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        a = atomic_write_bytes(tmp_path / "a.bin", b"x")
        b = atomic_write_text(tmp_path / "sub" / "b.txt", "y")
        c = atomic_write_json(tmp_path / "c.json", {"k": 1})
        plain = tmp_path / "plain"
        plain.write_text("z")
    finally:
        os.umask(old)
    for p in (a, b, c):
        assert _mode(p) == 0o666 & ~umask == _mode(plain), (p, oct(_mode(p)))


def test_atomic_write_contents_and_no_leftovers(tmp_path):
    target = tmp_path / "deep" / "r.json"
    atomic_write_json(target, {"path": Path("/x"), "n": [1, 2]})
    assert target.read_text() == json.dumps({"path": "/x", "n": [1, 2]}, indent=2) + "\n"
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    with atomic_open(tmp_path / "t.csv", "w", newline="") as f:
        f.write("a\r\nb\n")
    assert (tmp_path / "t.csv").read_bytes() == b"a\r\nb\n"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="half-way"):
        with atomic_open(target, "wb") as f:
            f.write(b"partial")
            raise RuntimeError("half-way")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    with pytest.raises(ValueError, match="'wb' or 'w'"):
        with atomic_open(target, "a"):
            pass


def test_atomic_link_or_copy(tmp_path):
    src = tmp_path / "src.png"
    src.write_bytes(b"png")
    dst = atomic_link_or_copy(src, tmp_path / "out" / "dst.png")
    assert dst.read_bytes() == b"png"
    src2 = tmp_path / "src2.png"
    src2.write_bytes(b"other")
    atomic_link_or_copy(src2, dst)                # replaces an existing file
    assert dst.read_bytes() == b"other"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_direction_arrow():
    assert direction_arrow(True) == "↑" and direction_arrow(False) == "↓"


def test_toolbox_imports_only_the_standard_library():
    code = ("import sys, ivif_toolbox\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'numpy', 'torch', 'models', 'benchmark', 'metrics', 'pandas', 'scipy'})\n"
            "assert not bad, bad\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_write_errors_name_the_target(tmp_path, monkeypatch):
    import errno

    import ivif_toolbox.atomic as atomic

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    target = tmp_path / "r.json"
    with pytest.raises(OSError) as err:
        atomic_write_json(target, {"a": 1})
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(target)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_linking_onto_an_existing_link_leaves_no_temporary(tmp_path):
    from ivif_toolbox import atomic_link_or_copy

    src = tmp_path / "a.png"
    src.write_bytes(b"x")
    dst = tmp_path / "out" / "a.png"
    atomic_link_or_copy(src, dst)
    atomic_link_or_copy(src, dst)        # a rerun: dst is already a link to src
    assert sorted(p.name for p in dst.parent.iterdir()) == ["a.png"] and dst.read_bytes() == b"x"
