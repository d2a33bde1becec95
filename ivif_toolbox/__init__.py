"""Small shared helpers of the harness: typed registries, file hashing, atomic writes, the ↑/↓ arrow.

A leaf package: it imports only the standard library (no numpy, no torch, nothing of ``benchmark``,
``models`` or ``metrics``), so every other package can use it without pulling in heavy imports.
"""
from .atomic import atomic_link_or_copy, atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text
from .hashing import sha256_file
from .registry import Registry, UnknownNameError
from .text import direction_arrow

__all__ = ["Registry", "UnknownNameError", "sha256_file", "atomic_open", "atomic_write_bytes",
           "atomic_write_text", "atomic_write_json", "atomic_link_or_copy", "direction_arrow"]
