"""Split identity wired into ``validate`` and ``run``: a folder is compared with its split's manifest
through the file-hash cache; the texts, the run summary and the leaderboard caption say what was found.

Most tests use a manifest written here (``tno-25`` over generated PNGs, patched in for the shipped one),
so they run without ../shared; one builds another 25-pair TNO set from the real complete split.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import benchmark
import benchmark.datasets  # noqa: F401  (registers the built-in datasets before a manifest is patched)
import benchmark.splits as splits
from benchmark.config import ValidateConfig
from benchmark.splits import MANIFEST_COLUMNS

N = 25
PAST = 1_600_000_000          # a modification time far outside the hash cache's racy window


def _png(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=(32, 40), dtype=np.uint8)).save(path, format="PNG")
    os.utime(path, (PAST, PAST))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tno_folder(root: Path, seeds: dict[str, tuple[int, int]]) -> Path:
    """``root/TNO/{ir,vi}/<name>.png`` (the built-in ``tno`` layout) from ``{name: (ir seed, vis seed)}``."""
    for name, (a, b) in seeds.items():
        _png(root / "TNO" / "ir" / f"{name}.png", a)
        _png(root / "TNO" / "vi" / f"{name}.png", b)
    return root


OFFICIAL = {f"{i:02d}": (2 * i, 2 * i + 1) for i in range(1, N + 1)}


@pytest.fixture
def fake_tno25(tmp_path, monkeypatch) -> Path:
    """A ``tno-25`` manifest over generated images, in place of the shipped manifests; returns the data
    root of a folder holding exactly those images."""
    official = _tno_folder(tmp_path / "official", OFFICIAL)
    rows = ["# tno-25: 25 pairs; source test @ 0000000 (ir, vi)",
            "# columns: pair, ir file, ir sha256, vi file, vi sha256", "\t".join(MANIFEST_COLUMNS)]
    for name in OFFICIAL:
        ir, vi = official / "TNO" / "ir" / f"{name}.png", official / "TNO" / "vi" / f"{name}.png"
        rows.append("\t".join((name, ir.name, _sha(ir), vi.name, _sha(vi))))
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "tno-25.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setattr(splits, "_manifest_folder", lambda: folder)
    assert splits.load_manifest("tno-25").names() == tuple(OFFICIAL)
    return official


def _validate(root: Path, **kw):
    out = benchmark.validate_datasets(ValidateConfig(data_root=str(root), datasets=["tno"], **kw))
    return out.reports[0], out.text


def test_validate_verifies_the_official_files(fake_tno25):
    rep, text = _validate(fake_tno25)
    assert rep.status == "verified" and rep.identity.status == "verified"
    assert "identity: official split tno-25, identity verified (25 pairs)" in text


def test_validate_says_another_25_pair_set_is_not_tno_25(fake_tno25, tmp_path):
    other = {**OFFICIAL, "07": (900, 901), "12": (24, 902), "20": (903, 904)}    # 3 pairs with other files
    rep, text = _validate(_tno_folder(tmp_path / "other", other))
    assert rep.status == "differs" and rep.pair_count == N and rep.ok
    assert "identity: 25 pairs, NOT the official tno-25 (3 of 25 pairs differ)" in text
    assert "other bytes than the official pair of the same name (3): 07 (IR and VIS), 12 (VIS), 20 (IR and VIS)" in text


def test_validate_flags_duplicate_pairs(fake_tno25, tmp_path):
    dup = {**OFFICIAL, "25": OFFICIAL["01"]}         # pair 25 holds pair 01's images again
    rep, text = _validate(_tno_folder(tmp_path / "dup", dup))
    assert rep.status == "differs"
    assert rep.identity.duplicate_pairs == (("01", "25"),)
    assert "25 pairs, NOT the official tno-25 (1 of 25 pairs differs; duplicate pairs: 01 = 25)" in text
    assert "duplicate pair (same IR and VIS bytes): 01 = 25" in text


def test_validate_without_manifest_says_not_verified(shared_datasets_dir):
    out = benchmark.validate_datasets(ValidateConfig(data_root=str(shared_datasets_dir), datasets=["msrs"]))
    assert out.reports[0].identity.status == "not-verified"
    assert "identity: identity not verified (no manifest for msrs-test)" in out.text


def test_validate_hash_cache_is_hit_on_the_second_run(fake_tno25, tmp_path):
    store = tmp_path / "hashes" / "files.json"
    _, first = _validate(fake_tno25, hash_cache=str(store))
    assert first.endswith(f"file hashes: {2 * N} hashed, 0 from the cache (cache {store})")
    _, second = _validate(fake_tno25, hash_cache=str(store))
    assert second.endswith(f"file hashes: 0 hashed, {2 * N} from the cache (cache {store})")
    _, uncached = _validate(fake_tno25)
    assert uncached.endswith(f"file hashes: {2 * N} hashed, 0 from the cache (no cache file)")


def test_run_logs_and_stores_identity_and_captions_it(fake_tno25, tmp_path):
    data = _tno_folder(tmp_path / "other", {**OFFICIAL, "03": (905, 906)})
    cfg = dict(datasets=["tno"], data_root=str(data), fusers=["mean"], metrics=["EN"], out=str(tmp_path / "res"),
               run_id="r", plots=False, progress=False, leaderboard=str(tmp_path / "lb.md"))
    logs: list[str] = []
    first = benchmark.run(benchmark.RunConfig(**cfg), log=logs.append)
    assert "[tno] 25 pairs, NOT the official tno-25 (1 of 25 pairs differs)" in logs
    # every file is hashed once: the identity check hashes it, the pair's source hash reuses the digest
    assert f"file hashes: {2 * N} hashed, {2 * N} from the cache" in logs[-1]
    meta = json.loads((first.run_dir / "summary.json").read_text())["datasets"]["tno"]
    assert meta["identity"]["status"] == "differs" and meta["identity"]["changed"] == [["03", "IR and VIS"]]
    assert "*TNO: 25 pairs, **NOT** the official tno-25 (1 of 25 pairs differs). Metric convention" in \
        (tmp_path / "lb.md").read_text()
    assert (tmp_path / "res" / ".cache" / "file-hashes.json").is_file()
    logs.clear()
    benchmark.run(benchmark.RunConfig(**cfg), log=logs.append)      # resumes; no file is hashed again
    assert f"file hashes: 0 hashed, {4 * N} from the cache" in logs[-1]


def test_run_with_limit_checks_the_pairs_it_evaluates(fake_tno25, tmp_path):
    logs: list[str] = []
    out = benchmark.run(benchmark.RunConfig(datasets=["tno"], data_root=str(fake_tno25), fusers=["mean"],
                                            metrics=["EN"], limit=3, out=str(tmp_path / "res"), plots=False,
                                            progress=False, leaderboard=str(tmp_path / "lb.md")), log=logs.append)
    assert "[tno] subset: 3 of the 25 pairs of tno-25, identity verified" in logs
    assert out.datasets["tno"]["identity"]["status"] == "subset"
    assert "*TNO: **subset**: 3 of the 25 pairs of tno-25, identity verified (--limit). Metric" in \
        (tmp_path / "lb.md").read_text()


def test_embedded_dataset_has_no_identity_check():
    rep = benchmark.validate_datasets(ValidateConfig(data_root=".", datasets=["synthetic"])).reports[0]
    assert rep.identity is None and rep.status == "complete"


# ------------------------------------------------------------------------------ the real complete split
def test_validate_on_another_real_25_pair_tno_set_says_not_tno_25(shared_dir, tmp_path):
    """The complete TNO-25 with four pairs' files replaced by real medical images of the same names."""
    full = shared_dir / "datasets-full"
    if not (full / "TNO").is_dir():
        pytest.skip(f"complete splits not found at {full}")
    shutil.copytree(full / "TNO", tmp_path / "TNO")
    for tno_name, ct_name in (("05", "11"), ("09", "12"), ("16", "13"), ("22", "14")):
        shutil.copyfile(full / "Harvard" / "MRI_CT" / "CT" / f"{ct_name}.png", tmp_path / "TNO" / "ir" / f"{tno_name}.png")
        shutil.copyfile(full / "Harvard" / "MRI_CT" / "MRI" / f"{ct_name}.png", tmp_path / "TNO" / "vi" / f"{tno_name}.png")
    rep, text = _validate(tmp_path, decode=False)
    assert rep.status == "differs" and rep.pair_count == 25
    assert "identity: 25 pairs, NOT the official tno-25 (4 of 25 pairs differ)" in text
    assert rep.identity.changed == (("05", "IR and VIS"), ("09", "IR and VIS"), ("16", "IR and VIS"),
                                    ("22", "IR and VIS"))
    assert rep.identity.files_differ == 8


def test_validate_hash_cache_option_from_the_command_line(fake_tno25, tmp_path, capsys):
    from benchmark.cli import main

    store = tmp_path / "h.json"
    assert main(["validate", "--data-root", str(fake_tno25), "--datasets", "tno", "--hash-cache", str(store)]) == 0
    assert "identity: official split tno-25, identity verified (25 pairs)" in capsys.readouterr().out
    assert json.loads(store.read_text())["format"] == 1
    assert main(["validate", "--data-root", str(fake_tno25), "--datasets", "tno", "--hash-cache", str(tmp_path)]) == 2
    assert f"hash_cache: expected the path of a JSON file, got the folder {tmp_path}" in capsys.readouterr().err
