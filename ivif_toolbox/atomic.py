"""The project's one atomic file writer: temporary file in the target folder + fsync + rename.

A reader (or a rerun after ``kill -9``, a full disk or a power cut) sees either the old file or the
complete new one, never a torn file. The temporary file is created with mode ``0o666`` through
``os.open``, so the kernel applies the process umask exactly as for a plain ``open(path, "w")``
(``tempfile.mkstemp`` would leave 0600 files that other users of a shared results folder cannot
read). Temporary names start with a dot and end in ``.tmp``; one is removed again when writing
fails.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _temp_beside(path: Path) -> tuple[Path, int]:
    """Create and open a new temporary file next to ``path`` (same file system, so rename is atomic)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return tmp, os.open(tmp, _FLAGS, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: could not create a unique temporary file for {path.name}")


def _discard(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", *, encoding: str = "utf-8",
                newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file for writing; on success it is fsynced and renamed onto ``path``.

    ``mode`` is ``"wb"`` (binary) or ``"w"`` (text, with ``encoding`` and ``newline`` as for
    :func:`open`). Missing parent folders are created. When the ``with`` block raises, ``path`` is
    left untouched and the temporary file is removed; an ``OSError`` that names no file (a full
    disk during ``write``) is re-raised naming ``path``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _temp_beside(path)
    try:
        text = mode == "w"
        with os.fdopen(fd, mode, encoding=encoding if text else None, newline=newline if text else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        if exc.filename is None:   # write()/fsync() errors (disk full, ...) do not say which file
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        _discard(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (newlines written as given); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON plus a final newline, atomically; values JSON does not know
    (paths, ...) are written as their ``str()``. Returns the path."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def atomic_link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Make ``dst`` a hard link to ``src`` (a copy where links are impossible), replacing ``dst`` atomically."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        if os.path.samefile(src, dst):
            return dst      # already a link to src (a rerun): renaming a link onto it would do nothing
    except FileNotFoundError:
        pass
    for _ in range(100):
        tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.link(src, tmp)
        except FileExistsError:
            continue
        except OSError:     # another file system, or links not supported: copy instead
            with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            return dst
        try:
            os.replace(tmp, dst)
        except BaseException:
            _discard(tmp)
            raise
        if os.path.lexists(tmp):   # dst became a link to src meanwhile: rename(2) then leaves tmp in place
            _discard(tmp)
        return dst
    raise FileExistsError(f"{dst.parent}: could not create a unique temporary name for {dst.name}")
