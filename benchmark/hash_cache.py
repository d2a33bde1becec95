"""A persistent cache of file sha256 digests, keyed by what the file system says about each file.

Checking a dataset folder against its split manifest needs the sha256 of every image; a 3463-pair LLVIP
folder is about 7000 files and several GB, too much to rehash on every run. :class:`FileHashCache` keeps
each digest with the file's resolved path, size, modification time and status-change time
(``st_size``, ``st_mtime_ns``, ``st_ctime_ns``) and reuses it while all four are unchanged. Replacing a
file (editing it, copying another file over it, even with ``cp -p`` or ``rsync -a``, which keep the
modification time but not the change time) changes the key, so the file is hashed again.

Like git's index, the cache does not trust a file whose modification time is within
``racy_window_s`` of the moment it is hashed: a file written in the same clock tick as its
hashing could be changed again without its time or size changing, so such digests are computed but
never kept.

The cache is a JSON file written atomically (temporary file, fsync, rename) by a writer callable;
several processes may share it: each save merges what is on disk with what the process learnt, and
the last writer wins, but no reader ever sees a torn file. A corrupt or foreign cache file is
ignored with a :class:`HashCacheWarning` and rewritten on the next save.
"""
from __future__ import annotations

import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from ivif_toolbox import atomic_write_text, sha256_file

#: On-disk format of the cache file; a file of another format is ignored (with a warning).
CACHE_FORMAT = 1

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

Writer = Callable[[Path, str], None]
Hasher = Callable[[Path], str]


class HashCacheWarning(UserWarning):
    """The hash cache file could not be used (unreadable, corrupt, other format); it is ignored."""


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileHashCache:
    """sha256 of files, cached by (resolved path, size, mtime_ns, ctime_ns) and optionally persisted.

    Parameters
    ----------
    store:
        JSON file holding the cache between processes (created on :meth:`save`; its folder too).
        ``None`` keeps the cache in memory only.
    writer:
        ``writer(path, text)`` writes ``text`` to ``path`` atomically; default: the project's atomic
        writer (temporary file in the same folder, fsync, ``os.replace``).
    hasher:
        ``hasher(path) -> str`` returns a file's sha256 as 64 lower-case hex digits; default: the
        project's ``sha256_file`` (1 MiB blocks).
    racy_window_s:
        Digests of files modified less than this many seconds before hashing (or, clocks being what
        they are, "in the future") are not kept. Must be >= 0.

    Use it as a callable (``cache(path)``) wherever a ``Callable[[Path], str]`` hasher is expected.
    :attr:`hits` and :attr:`misses` count lookups answered from the cache and files actually hashed.
    """

    def __init__(self, store: str | Path | None = None, *, writer: Writer | None = None,
                 hasher: Hasher | None = None, racy_window_s: float = 2.0):
        if racy_window_s < 0:
            raise ValueError(f"FileHashCache: racy_window_s must be >= 0 seconds, got {racy_window_s!r}")
        writer = writer or atomic_write_text
        hasher = hasher or sha256_file
        self.store = Path(store) if store is not None else None
        self._writer = writer
        self._hasher = hasher
        self._racy_ns = int(racy_window_s * 1e9)
        self._entries: dict[str, tuple[int, int, int, str]] = {}
        self._parents: dict[str, Path] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if self.store is not None:
            self._entries = self._read_store(self.store, warn=True)

    # ------------------------------------------------------------------ lookups
    def sha256(self, path: str | Path) -> str:
        """The sha256 (64 hex digits) of the file at ``path``, from the cache when its key still matches.

        Raises ``FileNotFoundError`` / ``OSError`` naming the file when it cannot be read.
        """
        resolved = self._resolve(Path(path))
        st = resolved.stat()
        key = str(resolved)
        stat_key = _stat_key(st)
        entry = self._entries.get(key)
        if entry is not None and entry[:3] == stat_key:
            self.hits += 1
            return entry[3]
        digest = self._hasher(resolved)
        self.misses += 1
        after = resolved.stat()
        # Keep the digest only if the file did not change while it was read and is not "racy".
        if _stat_key(after) == stat_key and st.st_mtime_ns <= time.time_ns() - self._racy_ns:
            self._entries[key] = (*stat_key, digest)
            self._dirty = True
        elif key in self._entries:
            del self._entries[key]
            self._dirty = True
        return digest

    __call__ = sha256

    def _resolve(self, path: Path) -> Path:
        # Resolving symlinks costs a system call per path component; a dataset folder's thousands of
        # files share a few parent folders, so each parent is resolved once per cache object.
        parent = str(path.absolute().parent)
        real = self._parents.get(parent)
        if real is None:
            real = self._parents[parent] = Path(parent).resolve()
        return real / path.name

    def __len__(self) -> int:
        return len(self._entries)

    def describe(self) -> str:
        """One line for a log: files hashed, digests taken from the cache, and where the cache lives."""
        where = f"cache {self.store}" if self.store is not None else "no cache file"
        return f"file hashes: {self.misses} hashed, {self.hits} from the cache ({where})"

    # ------------------------------------------------------------------ persistence
    def save(self) -> bool:
        """Write the cache to :attr:`store` if anything was learnt; returns whether a file was written.

        What another process saved meanwhile is merged in (entries whose file no longer has the
        recorded size and times are dropped). Raises ``OSError`` when the store cannot be written;
        the digests computed so far stay usable in memory.
        """
        if self.store is None or not self._dirty:
            return False
        merged = self._read_store(self.store, warn=False)
        merged.update(self._entries)
        fresh = {}
        for key, entry in merged.items():
            try:
                if _stat_key(os.stat(key)) == entry[:3]:
                    fresh[key] = entry
            except OSError:
                continue   # gone or unreachable now: drop it, it would only ever miss
        doc = {"format": CACHE_FORMAT, "algorithm": "sha256",
               "key": ["size", "mtime_ns", "ctime_ns", "sha256"],
               "files": {k: list(v) for k, v in sorted(fresh.items())}}
        self._writer(self.store, json.dumps(doc, separators=(",", ":")) + "\n")
        self._entries = fresh
        self._dirty = False
        return True

    def __enter__(self) -> "FileHashCache":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.save()

    @staticmethod
    def _read_store(store: Path, *, warn: bool) -> dict[str, tuple[int, int, int, str]]:
        def ignore(why: str, what: str = "ignoring it") -> dict:
            if warn:
                warnings.warn(f"hash cache {store}: {why}; {what} (those files will be hashed again and "
                              f"the cache rewritten)", HashCacheWarning, stacklevel=3)
            return {}

        try:
            text = store.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            return ignore(f"cannot be read ({type(exc).__name__}: {exc})")
        try:
            doc: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            return ignore(f"not valid JSON ({exc})")
        if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT or doc.get("algorithm") != "sha256" \
                or not isinstance(doc.get("files"), dict):
            return ignore(f"expected a sha256 hash cache of format {CACHE_FORMAT}, got another document")
        out: dict[str, tuple[int, int, int, str]] = {}
        bad = 0
        for key, entry in doc["files"].items():
            if (isinstance(entry, list) and len(entry) == 4 and all(isinstance(v, int) for v in entry[:3])
                    and isinstance(entry[3], str) and _SHA256_HEX.fullmatch(entry[3])):
                out[key] = (entry[0], entry[1], entry[2], entry[3])
            else:
                bad += 1
        if bad:
            ignore(f"{bad} malformed entr{'y' if bad == 1 else 'ies'}", "skipping them")
        return out
