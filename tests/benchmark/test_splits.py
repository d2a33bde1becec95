"""Split identity: shipped manifests, check_identity on folders whose bytes the tests control, and the real
complete splits of ../shared/datasets-full (skipped when absent)."""
from __future__ import annotations

import fnmatch
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.datasets import get_dataset
from benchmark.splits import (IDENTITY_STATUSES, Manifest, ManifestError, ManifestPair, SplitIdentity,
                              check_identity, load_manifest, manifest_names, manifest_pair_names, parse_manifest)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {"tno-25": 25, "tno-42": 42, "roadscene-221": 221, "roadscene-50": 50, "harvard-ct": 21,
           "harvard-pet": 42, "harvard-spect": 73, "vifb-21": 21}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CountingHasher:
    """hashlib over the file bytes, counting calls per path (independent of the code under test)."""

    def __init__(self):
        self.calls: dict[Path, int] = {}

    def __call__(self, path: Path) -> str:
        self.calls[path] = self.calls.get(path, 0) + 1
        return sha(path)


def write_png(path: Path, seed: int, size=(12, 16)) -> Path:
    """A small PNG whose pixels (hence bytes) are a function of ``seed``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=size, dtype=np.uint8)).save(path, format="PNG")
    return path


def make_folder(root: Path, contents: dict[str, tuple[int, int]]) -> list[tuple[str, Path, Path]]:
    """``{pair name: (ir seed, vis seed)}`` -> TNO-style ``root/{ir,vi}/<name>.png``; returns the pairs."""
    pairs = []
    for name, (ir_seed, vis_seed) in contents.items():
        pairs.append((name, write_png(root / "ir" / f"{name}.png", ir_seed),
                      write_png(root / "vi" / f"{name}.png", vis_seed)))
    return pairs


def manifest_of(split: str, pairs: list[tuple[str, Path, Path]]) -> Manifest:
    return Manifest(split, "test @ 0000000 (ir, vi)", "pair, ir file, ir sha256, vi file, vi sha256",
                    tuple(ManifestPair(n, ir.name, sha(ir), vis.name, sha(vis)) for n, ir, vis in pairs))


OFFICIAL = {f"{i:02d}": (2 * i, 2 * i + 1) for i in range(1, 7)}     # six pairs, twelve distinct images


@pytest.fixture
def official(tmp_path) -> Manifest:
    return manifest_of("fake-6", make_folder(tmp_path / "official", OFFICIAL))


def check(official: Manifest, folder: Path, contents: dict[str, tuple[int, int]], **kw) -> SplitIdentity:
    hasher = CountingHasher()
    ident = check_identity("fake-6", make_folder(folder, contents), hasher, manifest=official, **kw)
    assert set(hasher.calls.values()) <= {1}, "every file is hashed exactly once per check"
    return ident


# ------------------------------------------------------------------------------------------ identity
def test_identical_folder_is_verified(official, tmp_path):
    ident = check(official, tmp_path / "copy", OFFICIAL)
    assert ident.status == "verified" and ident.verified
    assert ident.text == "official split fake-6, identity verified (6 pairs)"
    assert ident.caption == "official split fake-6 (6 pairs), identity verified"
    assert (ident.pairs, ident.official, ident.present, ident.not_in_split) == (6, 6, 6, 0)
    assert ident.details() == []


def test_same_count_other_files_is_not_the_split(official, tmp_path):
    contents = dict(OFFICIAL)
    contents["02"] = (100, OFFICIAL["02"][1])        # IR replaced
    contents["05"] = (101, 102)                      # both replaced
    ident = check(official, tmp_path / "other", contents)
    assert ident.status == "differs" and not ident.verified
    assert ident.text == "6 pairs, NOT the official fake-6 (2 of 6 pairs differ)"
    assert ident.caption == "6 pairs, **NOT** the official fake-6 (2 of 6 pairs differ)"
    assert ident.changed == (("02", "IR"), ("05", "IR and VIS"))
    assert ident.missing == ("02", "05") and ident.extra == () and ident.files_differ == 3
    one = dict(OFFICIAL, **{"06": (103, 104)})
    assert check(official, tmp_path / "one", one).text == "6 pairs, NOT the official fake-6 (1 of 6 pairs differs)"


def test_missing_pairs_make_a_verified_subset(official, tmp_path):
    contents = {k: v for k, v in OFFICIAL.items() if k not in ("02", "05")}
    ident = check(official, tmp_path / "sub", contents)
    assert ident.status == "subset" and ident.verified
    assert ident.text == "subset: 4 of the 6 pairs of fake-6, identity verified"
    assert ident.caption == "**subset**: 4 of the 6 pairs of fake-6, identity verified"
    assert ident.missing == ("02", "05")
    assert ident.details() == ["official pairs missing from the folder (2): 02, 05"]


def test_extra_pairs_make_the_folder_differ(official, tmp_path):
    ident = check(official, tmp_path / "more", dict(OFFICIAL, zz=(200, 201)))
    assert ident.status == "differs" and ident.extra == ("zz",) and ident.missing == ()
    assert ident.text == "7 pairs, NOT the official fake-6 (6 of its 6 pairs present, 1 other pair)"
    fewer = dict({k: v for k, v in OFFICIAL.items() if k != "01"}, zz=(200, 201), zy=(202, 203))
    assert check(official, tmp_path / "mixed", fewer).text == \
        "7 pairs, NOT the official fake-6 (5 of its 6 pairs present, 2 other pairs)"


def test_duplicate_pairs_are_flagged(official, tmp_path):
    ident = check(official, tmp_path / "dup", dict(OFFICIAL, **{"07": OFFICIAL["03"]}))
    assert ident.status == "differs" and ident.duplicate_pairs == (("03", "07"),) and ident.extra == ("07",)
    assert ident.text == ("7 pairs, NOT the official fake-6 (6 of its 6 pairs present, 1 other pair; "
                          "duplicate pairs: 03 = 07)")
    assert "duplicate pair (same IR and VIS bytes): 03 = 07" in ident.details()
    # same count: pair 06 replaced by a second copy of 01
    same = dict(OFFICIAL, **{"06": OFFICIAL["01"]})
    ident = check(official, tmp_path / "dup2", same)
    assert ident.text == "6 pairs, NOT the official fake-6 (1 of 6 pairs differs; duplicate pairs: 01 = 06)"
    assert ident.changed == (("06", "IR and VIS"),) and ident.files_differ == 0


def test_duplicate_files_are_flagged_without_changing_the_status(tmp_path):
    contents = {"a": (1, 1), "b": (2, 3), "c": (2, 4)}      # a: IR = VIS; b, c share their IR
    ident = check_identity("msrs-test", make_folder(tmp_path, contents), CountingHasher(), official_count=361)
    assert ident.status == "not-verified" and ident.duplicate_pairs == ()
    assert [d.describe() for d in ident.duplicate_files] == ["IR a = VIS a", "IR b = IR c"]
    assert not any(d.official for d in ident.duplicate_files)
    assert ident.details() == ["duplicate file (same bytes): IR a = VIS a", "duplicate file (same bytes): IR b = IR c"]


def test_duplicate_files_of_the_published_split_are_marked_official(tmp_path):
    # like harvard-pet, whose published split repeats 21 PET images with other MRI images
    contents = {"11": (1, 9), "12": (2, 8), "32": (3, 9)}
    pairs = make_folder(tmp_path / "official", contents)
    ident = check_identity("fake-3", make_folder(tmp_path / "copy", contents), CountingHasher(),
                           manifest=manifest_of("fake-3", pairs))
    assert ident.status == "verified"
    assert [(d.describe(), d.official) for d in ident.duplicate_files] == [("VIS 11 = VIS 32", True)]
    assert ident.details() == ["duplicate files as in the official split (1): VIS 11 = VIS 32"]


def test_renamed_copy_is_recognised_by_bytes(official, tmp_path):
    renamed = {f"r{k}": v for k, v in OFFICIAL.items()}
    ident = check(official, tmp_path / "renamed", renamed)
    assert ident.status == "verified" and len(ident.renamed) == 6 and ident.renamed[0] == ("r01", "01")
    assert ident.text == ("official split fake-6, identity verified "
                          "(6 pairs; identical files under other names for 6 pairs)")
    swapped = dict(OFFICIAL, **{"01": OFFICIAL["02"], "02": OFFICIAL["01"]})
    ident = check(official, tmp_path / "swapped", swapped)
    assert ident.status == "verified" and ident.renamed == (("01", "02"), ("02", "01"))
    part = {"x1": OFFICIAL["03"], "04": OFFICIAL["04"]}
    ident = check(official, tmp_path / "part", part)
    assert ident.text == "subset: 2 of the 6 pairs of fake-6, identity verified " \
                         "(identical files under other names for 1 pair)"


def test_no_manifest_means_not_verified(tmp_path):
    pairs = make_folder(tmp_path, {"a": (1, 2), "b": (3, 4)})
    assert load_manifest("msrs-test") is None
    ident = check_identity("msrs-test", pairs, CountingHasher(), official_count=361)
    assert ident.status == "not-verified" and not ident.verified
    assert ident.text == "identity not verified (no manifest for msrs-test)"
    assert ident.caption == "**subset**: 2 of the 361 pairs of msrs-test, identity not verified (no manifest)"
    assert check_identity("msrs-test", pairs, CountingHasher(), official_count=2).caption == \
        "2 pairs (the official count of msrs-test), identity not verified (no manifest)"
    assert check_identity("x", pairs, CountingHasher()).caption == "2 pairs of x, identity not verified (no manifest)"


def test_identity_round_trips_through_json(official, tmp_path):
    contents = dict(OFFICIAL, **{"02": (100, 5), "07": OFFICIAL["01"]})
    ident = check(official, tmp_path / "rt", contents)
    back = SplitIdentity.from_dict(json.loads(json.dumps(ident.to_dict())))
    assert back == ident and back.text == ident.text
    with pytest.raises(ValueError, match="expected a status in"):
        SplitIdentity.from_dict(dict(ident.to_dict(), status="complete"))
    with pytest.raises(ValueError, match="malformed record .KeyError: 'missing'"):
        SplitIdentity.from_dict({k: v for k, v in ident.to_dict().items() if k != "missing"})
    assert set(IDENTITY_STATUSES) == {"verified", "subset", "differs", "not-verified"}


def test_bad_arguments(official, tmp_path):
    pairs = make_folder(tmp_path, {"01": OFFICIAL["01"]})
    with pytest.raises(ValueError, match="unique pair names"):
        check_identity("fake-6", pairs + pairs, CountingHasher(), manifest=official)
    with pytest.raises(ValueError, match="manifest given is for split 'fake-6'"):
        check_identity("tno-25", pairs, CountingHasher(), manifest=official)
    with pytest.raises(ValueError, match="official_count=25 but the manifest lists 6"):
        check_identity("fake-6", pairs, CountingHasher(), manifest=official, official_count=25)


# ------------------------------------------------------------------------------------------ manifests
GOOD = ("# demo: 1 pairs; source a/b @ 1234567 (ir, vi)\n# columns: pair, ir file, ir sha256, vi file, vi sha256\n"
        "pair\tfile_a\tsha256_a\tfile_b\tsha256_b\n01\t01.png\t" + "a" * 64 + "\t01.png\t" + "b" * 64 + "\n")


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("# demo: 1 pairs", "# demo 1 pairs"), r"demo.tsv:1: expected '# <split>"),
    (GOOD.replace("# columns:", "# cols:"), r"demo.tsv:2: expected '# columns"),
    (GOOD.replace("sha256_b", "sha_b"), r"demo.tsv:3: expected the tab-separated columns"),
    (GOOD.replace("a" * 64, "A" * 64), r"demo.tsv:4: expected a sha256 of 64 lower-case hex digits"),
    (GOOD.replace("\t01.png\t" + "b" * 64, ""), r"demo.tsv:4: expected 5 tab-separated fields, got 3"),
    (GOOD.replace("1 pairs", "2 pairs"), r"header says 2 pairs, the file lists 1"),
    (GOOD.replace("1 pairs", "2 pairs") + GOOD.splitlines()[-1] + "\n", r"demo.tsv:5: pair name '01' occurs twice"),
    ("# demo: 1 pairs\n", r"expected two '#' header lines"),
])
def test_malformed_manifest_is_rejected_with_file_and_line(text, expected):
    assert parse_manifest(GOOD, origin="demo.tsv").names() == ("01",)
    with pytest.raises(ManifestError, match=expected):
        parse_manifest(text, origin="demo.tsv")


def test_every_shipped_manifest_parses_with_its_documented_count():
    assert manifest_names() == sorted(SHIPPED)
    for split, count in SHIPPED.items():
        m = load_manifest(split)
        assert m is not None and m.split == split and len(m) == count, split
        assert " @ " in m.source and m.roles.startswith("pair, "), split


def test_every_manifest_belongs_to_a_registered_dataset_with_the_same_count():
    from benchmark.datasets import DATASETS

    specs = {spec.split: spec for _, spec in DATASETS.items()}
    for split in manifest_names():
        assert split in specs, f"manifest {split} names no registered dataset split"
        assert specs[split].official_count == len(load_manifest(split)), split


def test_manifests_are_declared_package_data():
    """Every shipped TSV matches a [tool.setuptools.package-data] pattern, so wheels carry it."""
    import tomllib

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["benchmark"]
    files = sorted(p.relative_to(REPO / "benchmark").as_posix() for p in (REPO / "benchmark" / "manifests").iterdir())
    assert "manifests/README.md" in files
    for rel in files:
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel
    for pat in patterns:   # and every pattern names at least one file
        assert any(fnmatch.fnmatch(rel, pat) for rel in files), pat


def test_subset_splits_are_byte_identical_subsets():
    big, small = load_manifest("roadscene-221"), load_manifest("roadscene-50")
    by_name = {p.name: p for p in big.pairs}
    assert all(by_name[p.name] == p for p in small.pairs)          # same names, same files, same bytes
    tno42 = {p.content: p.name for p in load_manifest("tno-42").pairs}
    tno25 = load_manifest("tno-25").pairs
    assert all(p.content in tno42 for p in tno25)                  # renumbered subset ...
    assert [p.name for p in tno25 if tno42[p.content] == p.name] == ["01", "02", "03", "04"]   # ... 01-04 kept


def test_roadscene_50_file_list_is_the_manifest():
    assert set(get_dataset("roadscene-50").file_list) == set(manifest_pair_names("roadscene-50"))
    assert len(manifest_pair_names("roadscene-50")) == 50


def test_unknown_manifest_name_suggests():
    with pytest.raises(KeyError, match="did you mean 'tno-25'"):
        manifest_pair_names("tno25")


# ------------------------------------------------------------------------------------------ real splits
FULL = {"tno": "tno-25", "roadscene": "roadscene-221", "roadscene-50": "roadscene-50", "harvard-ct": "harvard-ct",
        "harvard-pet": "harvard-pet", "harvard-spect": "harvard-spect"}


@pytest.fixture(scope="module")
def full_root(shared_dir) -> Path:
    root = shared_dir / "datasets-full"
    if not root.is_dir():
        pytest.skip(f"complete splits not found at {root}")
    return root


def listed(key: str, root: Path) -> list[tuple[str, Path, Path]]:
    return [(p.name, p.ir_path, p.vis_path) for p in get_dataset(key).listing(root).pairs]


@pytest.mark.parametrize("key", sorted(FULL))
def test_complete_shared_splits_are_verified(key, full_root):
    spec = get_dataset(key)
    ident = check_identity(spec.split, listed(key, full_root), sha, official_count=spec.official_count)
    assert ident.split == FULL[key]
    assert ident.status == "verified", ident.details()
    assert ident.text == f"official split {FULL[key]}, identity verified ({spec.official_count} pairs)"
    assert ident.duplicate_pairs == () and ident.renamed == ()
    assert len(ident.duplicate_files) == (21 if key == "harvard-pet" else 0)
    assert all(d.official for d in ident.duplicate_files)


def test_another_25_pair_tno_set_is_not_tno_25(full_root, tmp_path):
    """25 real pairs numbered 01-25: 20 of CDDFuse's TNO pairs (renumbered) plus 5 real medical pairs."""
    tno = listed("tno", full_root)
    medical = listed("harvard-ct", full_root)[:5]
    chosen = [p for p in tno if p[0] not in ("03", "08", "13", "19", "24")][::-1] + medical
    assert len(chosen) == 25
    for i, (_, ir, vis) in enumerate(chosen, start=1):
        for src, sub in ((ir, "ir"), (vis, "vi")):
            (tmp_path / "TNO" / sub).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp_path / "TNO" / sub / f"{i:02d}.png")
    pairs = listed("tno", tmp_path)
    assert len(pairs) == 25
    ident = check_identity("tno-25", pairs, sha, official_count=25)
    assert ident.status == "differs"
    assert ident.text == "25 pairs, NOT the official tno-25 (5 of 25 pairs differ)"
    assert ident.caption == "25 pairs, **NOT** the official tno-25 (5 of 25 pairs differ)"
    assert ident.missing == ("03", "08", "13", "19", "24") and ident.files_differ == 10
    assert len(ident.renamed) == 20 - sum(1 for i, p in enumerate(chosen[:20], 1) if p[0] == f"{i:02d}")
    # Tang's numbering of the same 25 CDDFuse pairs is recognised as a renumbered subset of tno-42
    ident42 = check_identity("tno-42", tno, sha)
    assert ident42.status == "subset" and len(ident42.renamed) == 21


def test_roadscene_50_is_verified_inside_the_221_folder(full_root):
    pairs = listed("roadscene", full_root)
    chosen = [p for p in pairs if p[0] in set(manifest_pair_names("roadscene-50"))]
    assert check_identity("roadscene-50", chosen, sha).status == "verified"
    assert check_identity("roadscene-50", pairs, sha).text == \
        "221 pairs, NOT the official roadscene-50 (50 of its 50 pairs present, 171 other pairs)"

