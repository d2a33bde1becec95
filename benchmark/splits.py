"""Split identity: is the folder a user points at the published test split a table names?

A split's manifest (package data, ``benchmark/manifests/<split>.tsv``) lists every pair of the split as
published: its name, the file names of both images and the sha256 of both files. :func:`check_identity`
compares a dataset folder's pairs with it, file bytes first and names second:

* every pair's IR and VIS files are hashed (through a caller-supplied hasher, normally a
  :class:`benchmark.hash_cache.FileHashCache`, so a large folder is hashed once, not on every run);
* a folder pair *matches* an official pair when both files are byte-identical to it. Same-name matches
  are made first; a pair whose bytes equal an official pair of another name is matched to it as well
  ("identical files under other names": a renumbered copy of the split is still the split, and
  the texts say that it is renumbered);
* every other folder pair is *not a pair of the split*: *changed* when it carries the name of an
  official pair that is missing (same name, other bytes), *extra* otherwise (including a second copy
  of an official pair that is already matched);
* official pairs without a match are *missing*.

Status (:data:`IDENTITY_STATUSES`): ``verified`` (every official pair present, nothing else), ``subset``
(some official pairs present, nothing else), ``differs`` (anything not in the split, or no official pair
present), ``not-verified`` (no manifest is shipped for the split; e.g. ``msrs-test``).

Duplicates are flagged whatever the status:

* *duplicate pairs*: two folder pairs whose IR and VIS bytes are both identical (same images under two
  names). They make a folder ``differs`` (the second copy is not a pair of the split) and are named
  in every text;
* *duplicate files*: the same bytes in two places among the remaining (distinct) pairs: one IR image in
  two pairs, one VIS image in two pairs, or one file as both the IR and the VIS of a pair. These do
  not change the status by themselves, since published splits contain them (``harvard-pet`` repeats
  21 PET images, each with another MRI image); each is marked as being "as in the official split" when
  the manifest holds those bytes more than once too, and listed by :meth:`SplitIdentity.details`.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

#: Folder of the manifests inside the ``benchmark`` package.
MANIFEST_DIR = "manifests"
MANIFEST_SUFFIX = ".tsv"
#: Column header line of every manifest (after the ``#`` header lines).
MANIFEST_COLUMNS = ("pair", "file_a", "sha256_a", "file_b", "sha256_b")

IdentityStatus = Literal["verified", "subset", "differs", "not-verified"]
IDENTITY_STATUSES: tuple[str, ...] = ("verified", "subset", "differs", "not-verified")

_HEADER = re.compile(r"# (?P<split>[A-Za-z0-9._-]+): (?P<count>\d+) pairs?; source (?P<source>\S.*)")
_COLUMNS_LINE = re.compile(r"# columns: (?P<roles>\S.*)")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: How many names a text lists before it says "…".
_SHOW = 8


class ManifestError(ValueError):
    """A manifest file is malformed; the message names the file, the line and what was expected."""


@dataclass(frozen=True)
class ManifestPair:
    """One pair of a published split: its name and both files' names and sha256 (64 hex digits)."""

    name: str
    ir_file: str
    ir_sha256: str
    vis_file: str
    vis_sha256: str

    @property
    def content(self) -> tuple[str, str]:
        """(IR sha256, VIS sha256): what identifies the pair's bytes."""
        return (self.ir_sha256, self.vis_sha256)


@dataclass(frozen=True)
class Manifest:
    """The file list of one published split (see ``benchmark/manifests/README.md``)."""

    split: str
    source: str          # "<owner/repo> @ <commit> (<IR folder>, <VIS folder>)"
    roles: str           # the "# columns:" header: which modality is in the IR and the VIS role
    pairs: tuple[ManifestPair, ...]

    def __len__(self) -> int:
        return len(self.pairs)

    def names(self) -> tuple[str, ...]:
        """Pair names (file stems) in manifest order."""
        return tuple(p.name for p in self.pairs)


def parse_manifest(text: str, *, origin: str) -> Manifest:
    """Parse the text of a manifest TSV; ``origin`` names it in error messages (a file name).

    Checks the two ``#`` header lines, the column line, five fields per row, 64-hex-digit sha256 values,
    unique pair names and that the row count equals the count the header states.
    """
    lines = text.splitlines()
    if len(lines) < 3:
        raise ManifestError(f"{origin}: expected two '#' header lines, a column line and rows, got {len(lines)} lines")
    head = _HEADER.fullmatch(lines[0])
    if head is None:
        raise ManifestError(f"{origin}:1: expected '# <split>: <N> pairs; source <repo> @ <commit> (...)', "
                            f"got {lines[0]!r}")
    cols = _COLUMNS_LINE.fullmatch(lines[1])
    if cols is None:
        raise ManifestError(f"{origin}:2: expected '# columns: ...', got {lines[1]!r}")
    if tuple(lines[2].split("\t")) != MANIFEST_COLUMNS:
        raise ManifestError(f"{origin}:3: expected the tab-separated columns {'/'.join(MANIFEST_COLUMNS)}, "
                            f"got {lines[2]!r}")
    pairs: list[ManifestPair] = []
    seen: set[str] = set()
    for number, line in enumerate(lines[3:], start=4):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(MANIFEST_COLUMNS):
            raise ManifestError(f"{origin}:{number}: expected {len(MANIFEST_COLUMNS)} tab-separated fields, "
                                f"got {len(fields)}")
        name, ir_file, ir_sha, vis_file, vis_sha = fields
        for sha in (ir_sha, vis_sha):
            if not _SHA256.fullmatch(sha):
                raise ManifestError(f"{origin}:{number}: expected a sha256 of 64 lower-case hex digits, got {sha!r}")
        if name in seen:
            raise ManifestError(f"{origin}:{number}: pair name {name!r} occurs twice")
        seen.add(name)
        pairs.append(ManifestPair(name, ir_file, ir_sha, vis_file, vis_sha))
    if len(pairs) != int(head["count"]):
        raise ManifestError(f"{origin}: the header says {head['count']} pairs, the file lists {len(pairs)}")
    return Manifest(head["split"], head["source"], cols["roles"], tuple(pairs))


def _manifest_folder():
    return resources.files(__package__).joinpath(MANIFEST_DIR)


def manifest_names() -> list[str]:
    """Names of the splits with a shipped manifest, sorted (e.g. ``['harvard-ct', …, 'vifb-21']``)."""
    return sorted(entry.name[: -len(MANIFEST_SUFFIX)] for entry in _manifest_folder().iterdir()
                  if entry.name.endswith(MANIFEST_SUFFIX))


def load_manifest(split: str) -> Manifest | None:
    """The shipped manifest of ``split`` (e.g. ``"tno-25"``), or ``None`` when none is shipped.

    Raises :class:`ManifestError` when the shipped file is malformed or names another split.
    """
    if split not in manifest_names():
        return None
    origin = f"{MANIFEST_DIR}/{split}{MANIFEST_SUFFIX}"
    manifest = parse_manifest(_manifest_folder().joinpath(split + MANIFEST_SUFFIX).read_text(encoding="utf-8"),
                              origin=origin)
    if manifest.split != split:
        raise ManifestError(f"{origin}: the header names split {manifest.split!r}, expected {split!r}")
    return manifest


def manifest_pair_names(split: str) -> tuple[str, ...]:
    """Pair names of a shipped manifest, in manifest order: the one home of a subset's file list.

    Raises ``UnknownNameError`` (a ``KeyError``/``ValueError`` with a "did you mean") when no manifest
    is shipped for ``split``.
    """
    from ivif_toolbox import UnknownNameError

    manifest = load_manifest(split)
    if manifest is None:
        raise UnknownNameError("split manifest", split, manifest_names())
    return manifest.names()


# ---------------------------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class DuplicateFile:
    """The same file bytes in several places of a folder: ``where`` lists (pair name, "IR" | "VIS")."""

    sha256: str
    where: tuple[tuple[str, str], ...]
    official: bool       # the split's manifest also holds these bytes more than once

    def describe(self) -> str:
        """E.g. ``"VIS 11 = VIS 32"`` or ``"IR 05 = VIS 05"`` (role and pair name of every place)."""
        return " = ".join(f"{role} {name}" for name, role in self.where)


@dataclass(frozen=True)
class SplitIdentity:
    """What :func:`check_identity` found; :attr:`text` and :attr:`caption` say it in words.

    Name lists are in folder order (``renamed``, ``changed``, ``extra``) or manifest order (``missing``).
    """

    split: str
    status: IdentityStatus
    pairs: int                                  # pairs in the folder, as checked
    official: int | None                        # pairs of the published split (None: unknown)
    renamed: tuple[tuple[str, str], ...] = ()   # (folder name, official name): identical bytes, other name
    changed: tuple[tuple[str, str], ...] = ()   # (name, "IR" | "VIS" | "IR and VIS"): official name, other bytes
    extra: tuple[str, ...] = ()                 # folder pairs that are no pair of the split
    missing: tuple[str, ...] = ()               # official pairs the folder lacks (byte-identical)
    files_differ: int = 0                       # folder files whose bytes are no file of that role in the split
    duplicate_pairs: tuple[tuple[str, ...], ...] = ()
    duplicate_files: tuple[DuplicateFile, ...] = ()

    @property
    def present(self) -> int:
        """Official pairs present with identical bytes (under their own or another name)."""
        return 0 if self.official is None or self.status == "not-verified" else self.official - len(self.missing)

    @property
    def not_in_split(self) -> int:
        """Folder pairs that are no pair of the split (changed + extra)."""
        return len(self.changed) + len(self.extra)

    @property
    def verified(self) -> bool:
        """True when every checked pair is byte-identical to a pair of the split (complete or subset)."""
        return self.status in ("verified", "subset")

    # -------------------------------------------------------------------- words
    def _renamed_note(self) -> str:
        return f"identical files under other names for {_count(len(self.renamed), 'pair')}" if self.renamed else ""

    def _duplicates_note(self) -> str:
        if not self.duplicate_pairs:
            return ""
        return "duplicate pairs: " + _names((" = ".join(g) for g in self.duplicate_pairs), show=3)

    def _differs_detail(self) -> str:
        if self.pairs == self.official:
            k = len(self.missing)
            return f"{k} of {self.official} pairs {'differs' if k == 1 else 'differ'}"
        return (f"{self.present} of its {self.official} pairs present, "
                f"{_count(self.not_in_split, 'other pair')}")

    @property
    def text(self) -> str:
        """One line for a terminal (``validate``, the ``run`` log)."""
        dup = self._duplicates_note()
        if self.status == "not-verified":
            return f"identity not verified (no manifest for {self.split})" + (f"; {dup}" if dup else "")
        renamed = self._renamed_note()
        if self.status == "verified":
            return (f"official split {self.split}, identity verified "
                    f"({_count(self.pairs, 'pair')}" + (f"; {renamed}" if renamed else "") + ")")
        if self.status == "subset":
            return (f"subset: {self.pairs} of the {self.official} pairs of {self.split}, identity verified"
                    + (f" ({renamed})" if renamed else ""))
        return (f"{_count(self.pairs, 'pair')}, NOT the official {self.split} ({self._differs_detail()}"
                + (f"; {dup}" if dup else "") + ")")

    @property
    def caption(self) -> str:
        """Short Markdown form for a leaderboard block caption (the caller appends e.g. "(--limit)")."""
        dup = self._duplicates_note()
        if self.status == "not-verified":
            if self.official is None:
                what = f"{_count(self.pairs, 'pair')} of {self.split}"
            elif self.pairs == self.official:
                what = f"{_count(self.pairs, 'pair')} (the official count of {self.split})"
            elif self.pairs < self.official:
                what = f"**subset**: {self.pairs} of the {self.official} pairs of {self.split}"
            else:
                what = f"{_count(self.pairs, 'pair')} ({self.split} has {self.official})"
            return what + ", identity not verified (no manifest)" + (f"; {dup}" if dup else "")
        renamed = self._renamed_note()
        if self.status == "verified":
            return (f"official split {self.split} ({_count(self.pairs, 'pair')}), identity verified"
                    + (f"; {renamed}" if renamed else ""))
        if self.status == "subset":
            return (f"**subset**: {self.pairs} of the {self.official} pairs of {self.split}, identity verified"
                    + (f"; {renamed}" if renamed else ""))
        return (f"{_count(self.pairs, 'pair')}, **NOT** the official {self.split} ({self._differs_detail()}"
                + (f"; {dup}" if dup else "") + ")")

    def details(self) -> list[str]:
        """Further lines for ``validate``: which pairs are renamed, changed, extra, missing, duplicated."""
        out: list[str] = []
        if self.renamed:
            out.append(f"identical files under other names ({len(self.renamed)}, folder = official): "
                       + _names(f"{a} = {b}" for a, b in self.renamed))
        if self.changed:
            out.append(f"other bytes than the official pair of the same name ({len(self.changed)}): "
                       + _names(f"{name} ({which})" for name, which in self.changed))
        if self.extra:
            out.append(f"not pairs of {self.split} ({len(self.extra)}): " + _names(self.extra))
        if self.missing:
            out.append(f"official pairs missing from the folder ({len(self.missing)}): " + _names(self.missing))
        if self.status == "differs" and self.files_differ:
            out.append(f"{self.files_differ} of the folder's {2 * self.pairs} files match no file of {self.split}")
        out += [f"duplicate pair (same IR and VIS bytes): {' = '.join(g)}" for g in self.duplicate_pairs]
        out += [f"duplicate file (same bytes): {d.describe()}" for d in self.duplicate_files if not d.official]
        published = [d.describe() for d in self.duplicate_files if d.official]
        if published:
            out.append(f"duplicate files as in the official split ({len(published)}): " + _names(published, show=3))
        return out

    # -------------------------------------------------------------------- persistence (run summaries)
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists for tuples); :meth:`from_dict` restores it."""
        return {"split": self.split, "status": self.status, "pairs": self.pairs, "official": self.official,
                "renamed": [list(r) for r in self.renamed], "changed": [list(c) for c in self.changed],
                "extra": list(self.extra), "missing": list(self.missing), "files_differ": self.files_differ,
                "duplicate_pairs": [list(g) for g in self.duplicate_pairs],
                "duplicate_files": [{"sha256": d.sha256, "where": [list(w) for w in d.where], "official": d.official}
                                    for d in self.duplicate_files],
                "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SplitIdentity":
        """Inverse of :meth:`to_dict`; ``ValueError`` naming what is wrong for anything else."""
        if not isinstance(data, dict) or data.get("status") not in IDENTITY_STATUSES:
            got = data.get("status") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"split identity record: expected a status in {IDENTITY_STATUSES}, got {got!r}")
        try:
            return cls(data["split"], data["status"], int(data["pairs"]), data["official"],
                       renamed=tuple((a, b) for a, b in data["renamed"]),
                       changed=tuple((a, b) for a, b in data["changed"]),
                       extra=tuple(data["extra"]), missing=tuple(data["missing"]),
                       files_differ=int(data["files_differ"]),
                       duplicate_pairs=tuple(tuple(g) for g in data["duplicate_pairs"]),
                       duplicate_files=tuple(DuplicateFile(d["sha256"], tuple((n, r) for n, r in d["where"]),
                                                           bool(d["official"])) for d in data["duplicate_files"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"split identity record: expected the fields of SplitIdentity.to_dict(), "
                             f"got a malformed record ({type(exc).__name__}: {exc})") from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _names(items: Iterable[str], show: int = _SHOW) -> str:
    items = list(items)
    return ", ".join(items[:show]) + (f", … ({len(items)} in all)" if len(items) > show else "")


def check_identity(split: str, pairs: Iterable[tuple[str, str | Path, str | Path]],
                   hashes: Callable[[Path], str], *, manifest: Manifest | None = None,
                   official_count: int | None = None) -> SplitIdentity:
    """Compare a dataset folder's pairs with the published split ``split``.

    Parameters
    ----------
    split:
        Manifest name, e.g. ``"tno-25"`` (a dataset spec's ``split``).
    pairs:
        ``(name, ir_path, vis_path)`` for every pair to check, in folder order; names must be unique.
    hashes:
        ``hashes(path) -> sha256 hex``; pass a :class:`benchmark.hash_cache.FileHashCache` so that
        repeated checks of a folder do not rehash it.
    manifest:
        The manifest to compare with; default: the shipped manifest of ``split`` (if any).
    official_count:
        The split's official pair count, used in the texts when no manifest is shipped; when a
        manifest is used it must agree with it.

    Returns a :class:`SplitIdentity` (matching rules and statuses: see the module docstring). Every file
    is hashed exactly once per call.
    """
    items = [(str(name), Path(ir), Path(vis)) for name, ir, vis in pairs]
    counts = Counter(name for name, _, _ in items)
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        raise ValueError(f"check_identity({split!r}): expected unique pair names, got repeated {repeated}")
    if manifest is None:
        manifest = load_manifest(split)
    elif manifest.split != split:
        raise ValueError(f"check_identity({split!r}): the manifest given is for split {manifest.split!r}")
    if manifest is not None and official_count is not None and official_count != len(manifest):
        raise ValueError(f"check_identity({split!r}): official_count={official_count} but the manifest lists "
                         f"{len(manifest)} pairs")
    hashed = [(name, (hashes(ir), hashes(vis))) for name, ir, vis in items]

    groups: dict[tuple[str, str], list[str]] = {}
    for name, content in hashed:
        groups.setdefault(content, []).append(name)
    duplicate_pairs = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    places: dict[str, list[tuple[str, str]]] = {}
    for (ir_sha, vis_sha), group in groups.items():     # one representative per distinct pair
        places.setdefault(ir_sha, []).append((group[0], "IR"))
        places.setdefault(vis_sha, []).append((group[0], "VIS"))
    in_manifest = Counter(sha for p in (manifest.pairs if manifest else ()) for sha in p.content)
    duplicate_files = tuple(DuplicateFile(sha, tuple(where), official=in_manifest[sha] > 1)
                            for sha, where in places.items() if len(where) > 1)
    if manifest is None:
        return SplitIdentity(split, "not-verified", len(items), official_count,
                             duplicate_pairs=duplicate_pairs, duplicate_files=duplicate_files)

    official = {p.name: p for p in manifest.pairs}
    by_content: dict[tuple[str, str], list[str]] = {}
    for p in manifest.pairs:
        by_content.setdefault(p.content, []).append(p.name)
    matched: dict[str, str] = {}      # folder name -> official name
    for name, content in hashed:      # same name, same bytes first ...
        if name in official and official[name].content == content:
            matched[name] = name
    taken = set(matched.values())
    for name, content in hashed:      # ... then identical bytes under another name
        if name not in matched:
            free = [o for o in by_content.get(content, ()) if o not in taken]
            if free:
                matched[name] = free[0]
                taken.add(free[0])
    renamed, changed, extra = [], [], []
    ir_set = {p.ir_sha256 for p in manifest.pairs}
    vis_set = {p.vis_sha256 for p in manifest.pairs}
    files_differ = 0
    for name, (ir_sha, vis_sha) in hashed:
        files_differ += (ir_sha not in ir_set) + (vis_sha not in vis_set)
        if name in matched:
            if matched[name] != name:
                renamed.append((name, matched[name]))
        elif name in official and name not in taken:
            which = [role for role, a, b in (("IR", ir_sha, official[name].ir_sha256),
                                             ("VIS", vis_sha, official[name].vis_sha256)) if a != b]
            changed.append((name, " and ".join(which)))
        else:
            extra.append(name)
    missing = tuple(p.name for p in manifest.pairs if p.name not in taken)
    if changed or extra or not taken:
        status: IdentityStatus = "differs"
    else:
        status = "subset" if missing else "verified"
    return SplitIdentity(split, status, len(items), len(manifest), renamed=tuple(renamed), changed=tuple(changed),
                         extra=tuple(extra), missing=missing, files_differ=files_differ,
                         duplicate_pairs=duplicate_pairs, duplicate_files=duplicate_files)
