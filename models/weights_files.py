"""What a weights file is, read from its first bytes, before PyTorch or safetensors is asked to load it.

A checkpoint that is empty, truncated (an interrupted download or copy), a Git LFS pointer, an HTML
error page saved under a ``.pth`` name, or some other file makes ``torch.load`` fail with an
unpickling message that names neither the file nor the problem. :func:`check_weights_file` names
both. It imports neither torch nor safetensors (the header formats are read directly), so the
harness can check every ``--checkpoint`` before it builds a model.

Formats recognised:

* safetensors: an 8-byte little-endian header length, a JSON header, then the tensor bytes (the
  header's largest ``data_offsets`` end must lie inside the file);
* ``torch.save`` (PyTorch ≥ 1.6): a zip archive (its central directory sits at the end, so a
  truncated file is caught);
* legacy ``torch.save``: a pickle stream (protocol byte ``0x80``); truncation is found by torch only.
"""
from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

__all__ = ["WeightsFileError", "check_weights_file", "WEIGHTS_SUFFIXES", "few_keys"]

#: file name endings of weights files (what a checkpoint folder is searched for)
WEIGHTS_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".safetensors")
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


class WeightsFileError(ValueError):
    """A file given as weights that is not a readable PyTorch or safetensors checkpoint."""


def few_keys(keys: list[str], shown: int = 6) -> str:
    """A key list for a one-line message: all of a short list, the count and the first few of a long one."""
    if len(keys) <= shown:
        return repr(list(keys))
    return f"{len(keys)} keys, e.g. {list(keys[:shown])!r}"


def _what_it_is(head: bytes) -> str:
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the weights (run `git lfs pull` where you got it)"
    stripped = head.lstrip()
    if stripped[:1] == b"<":
        return "an HTML/XML text file (a failed download?)"
    if stripped[:1] in (b"{", b"["):
        return "a JSON/text file"
    try:
        text = head[:32].decode("ascii")
        if text.isprintable():
            return f"a text file starting with {text!r}"
    except UnicodeDecodeError:
        pass
    return f"a binary file starting with bytes {head[:8].hex(' ')}"


def _check_safetensors(path: Path, size: int, head: bytes) -> None:
    (n,) = struct.unpack("<Q", head[:8])
    if n > min(size - 8, _MAX_SAFETENSORS_HEADER):
        raise WeightsFileError(f"{path}: truncated or not a safetensors file: its header claims {n} bytes, the "
                               f"file has {size}")
    with open(path, "rb") as f:
        f.seek(8)
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsFileError(f"{path}: safetensors header is not valid JSON ({exc}); the file is damaged") from None
    ends = [int(v["data_offsets"][1]) for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v]
    need = 8 + n + max(ends, default=0)
    if need > size:
        raise WeightsFileError(f"{path}: truncated safetensors file: {size} bytes, its header needs {need} "
                               f"(copy or download it again)")


def check_weights_file(path: str | os.PathLike) -> str:
    """Check that ``path`` is a complete PyTorch or safetensors weights file; return its format
    ("safetensors", "torch zip" or "torch pickle").

    Raises :class:`WeightsFileError` naming the file and what was found (0 bytes, a truncated
    archive, a Git LFS pointer, a text file, ...), and FileNotFoundError when it does not exist.
    Reads only the header (and, for a zip archive, its central directory).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such weights file")
    if p.is_dir():
        raise WeightsFileError(f"{p}: is a folder, expected a weights file")
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(64)
    except PermissionError:
        raise WeightsFileError(f"{p}: cannot be read (permission denied); fix its permissions or copy it "
                               f"somewhere readable") from None
    if size == 0:
        raise WeightsFileError(f"{p}: 0 bytes (an empty file: an interrupted download or copy?); expected a "
                               f"PyTorch or safetensors weights file")
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
        except zipfile.BadZipFile as exc:
            raise WeightsFileError(f"{p}: truncated or damaged torch.save archive ({size} bytes; {exc}); copy or "
                                   f"download it again") from None
        if not any(n.endswith("data.pkl") for n in names):
            raise WeightsFileError(f"{p}: a zip archive without data.pkl (holds {names[:5]}): not a torch.save "
                                   f"checkpoint")
        return "torch zip"
    if head[:1] == b"\x80" and size > 2:
        return "torch pickle"
    if size >= 10 and head[8:9] == b"{":
        _check_safetensors(p, size, head)
        return "safetensors"
    raise WeightsFileError(f"{p}: not a torch/safetensors checkpoint: {size} bytes, {_what_it_is(head)}")
