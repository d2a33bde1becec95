"""Dataset types: a dataset's spec (official size, folder layouts), its listing, pairs and loaded pairs.

Every dataset knows its official pair count and where it expects its files below ``--data-root``;
a missing dataset raises :class:`DatasetNotFoundError` with the expected layout. Pairs load as
:class:`LoadedPair`: the images as stored (uint8, for the metrics, which apply each convention's own
grey rule) and the float32 [0, 1] arrays the fusers consume (IR grey; VIS RGB, or grey when the
visible file is grey).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ivif_toolbox import sha256_file

from ..errors import InputError
from ..io import IMAGE_EXTENSIONS, is_grey, read_image

if TYPE_CHECKING:
    from ..splits import SplitIdentity


class DatasetError(InputError):
    """A dataset problem (layout, pairing, sizes); the message names the files involved."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset is not below the data root; the message shows the expected layout."""


@dataclass(frozen=True)
class LoadedPair:
    dataset: str
    name: str
    ir_raw: np.ndarray        # uint8 as stored (H×W or H×W×3)
    vis_raw: np.ndarray       # uint8 as stored
    ir: np.ndarray            # float32 H×W in [0, 1]
    vis: np.ndarray           # float32 H×W×3 (colour) or H×W (grey) in [0, 1]

    @property
    def vis_is_colour(self) -> bool:
        return self.vis.ndim == 3


@dataclass(frozen=True)
class Pair:
    """One IR/VIS pair of a dataset; images are read lazily by :meth:`load`."""

    dataset: str
    name: str
    ir_path: Path | None = None
    vis_path: Path | None = None
    generator: Callable[[], tuple[np.ndarray, np.ndarray]] | None = field(default=None, compare=False, repr=False)

    def raw(self) -> tuple[np.ndarray, np.ndarray]:
        if self.generator is not None:
            return self.generator()
        return read_image(self.ir_path), read_image(self.vis_path)

    def load(self) -> LoadedPair:
        ir_raw, vis_raw = self.raw()
        if ir_raw.shape[:2] != vis_raw.shape[:2]:
            where = f"{self.ir_path} vs {self.vis_path}" if self.ir_path else f"{self.dataset}/{self.name}"
            raise DatasetError(f"IR/VIS size mismatch for pair {self.name!r} ({where}): IR is "
                               f"{ir_raw.shape[1]}×{ir_raw.shape[0]}, VIS is {vis_raw.shape[1]}×{vis_raw.shape[0]} (W×H)")
        return LoadedPair(self.dataset, self.name, ir_raw, vis_raw, ir=grey_float(ir_raw), vis=vis_float(vis_raw))

    def source_hash(self, hashes: Callable[[Path], str] | None = None) -> str:
        """sha256 over both source files' sha256 digests (or the generated pixels for synthetic pairs).

        ``hashes(path) -> sha256 hex`` hashes one file; pass a :class:`benchmark.hash_cache.FileHashCache`
        so that a large folder is not rehashed on every run (default: hash the bytes every time). Any
        hasher returning the file's sha256 gives the same result.
        """
        h = hashlib.sha256()
        if self.generator is not None:
            ir, vis = self.generator()
            h.update(f"{ir.shape}{vis.shape}".encode())
            h.update(ir.tobytes())
            h.update(vis.tobytes())
        else:
            hashes = sha256_file if hashes is None else hashes
            h.update(hashes(self.ir_path).encode())
            h.update(hashes(self.vis_path).encode())
        return h.hexdigest()


def grey_float(raw: np.ndarray) -> np.ndarray:
    """IR-role image -> float32 H×W in [0, 1]: equal-channel RGB is taken as grey; true colour -> BT.601 Y."""
    from ..colour import luma

    if raw.ndim == 3 and is_grey(raw):
        raw = raw[..., 0]
    return luma(raw.astype(np.float32) / 255.0)


def vis_float(raw: np.ndarray) -> np.ndarray:
    """VIS-role image -> float32 RGB in [0, 1], or H×W when the file is grey (incl. equal channels)."""
    if raw.ndim == 3 and is_grey(raw):
        raw = raw[..., 0]
    return raw.astype(np.float32) / 255.0


@dataclass(frozen=True)
class Layout:
    ir_dir: str
    vis_dir: str


@dataclass
class Listing:
    """What a dataset folder holds: matched pairs and the files that do not pair up."""

    dataset: str
    root: Path | None
    pairs: list[Pair]
    unpaired_ir: list[Path] = field(default_factory=list)
    unpaired_vis: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    title: str                       # as papers print it (leaderboard block heading)
    official_count: int
    split: str                       # manifest name, e.g. "msrs-test"
    roots: tuple[str, ...] = ()      # candidate folders below the data root
    layouts: tuple[Layout, ...] = ()
    file_list: tuple[str, ...] | None = None   # subset manifest (stems)
    source: str = ""
    description: str = ""
    roles: str = "ir = infrared, vis = visible"
    embedded: Callable[[], list[Pair]] | None = None

    def expected_layout(self) -> str:
        lines = []
        for root in self.roots:
            for lay in self.layouts:
                lines.append(f"  <data-root>/{root}/{lay.ir_dir}/<name>.<ext>  and  <data-root>/{root}/{lay.vis_dir}/<name>.<ext>")
        return "\n".join(lines)

    def locate(self, data_root: str | Path) -> tuple[Path, Layout]:
        data_root = Path(data_root)
        for root in self.roots:
            for lay in self.layouts:
                if (data_root / root / lay.ir_dir).is_dir() and (data_root / root / lay.vis_dir).is_dir():
                    return data_root / root, lay
        raise DatasetNotFoundError(
            f"dataset {self.key!r} ({self.title}, {self.official_count} pairs, split {self.split}) not found "
            f"under data root {data_root}. Expected one of:\n{self.expected_layout()}\n"
            f"Get it from: {self.source or 'its publisher (no source recorded)'}; set --data-root or $FUSION_DATA to the folder "
            f"that holds it.")

    def identity(self, pairs: list[Pair], hashes: Callable[[Path], str]) -> "SplitIdentity | None":
        """Are ``pairs`` (of this dataset's folder) the files of the published split :attr:`split`?

        Compares their bytes with the split's shipped manifest (:func:`benchmark.splits.check_identity`;
        ``hashes`` as there, normally a :class:`benchmark.hash_cache.FileHashCache`). ``None`` for an
        embedded dataset, whose pairs are generated by code rather than read from files.
        """
        from ..splits import check_identity

        if self.embedded is not None:
            return None
        return check_identity(self.split, [(p.name, p.ir_path, p.vis_path) for p in pairs], hashes,
                              official_count=self.official_count)

    def listing(self, data_root: str | Path | None) -> Listing:
        if self.embedded is not None:
            return Listing(self.key, None, self.embedded())
        if data_root is None:
            raise DatasetNotFoundError(f"dataset {self.key!r} needs --data-root (or $FUSION_DATA)")
        root, lay = self.locate(data_root)
        ir = _index(root / lay.ir_dir)
        vis = _index(root / lay.vis_dir)
        names = sorted(set(ir) & set(vis), key=_natural_key)
        if self.file_list is not None:
            wanted = set(self.file_list)
            names = [n for n in names if n in wanted]
            ir = {k: v for k, v in ir.items() if k in wanted}
            vis = {k: v for k, v in vis.items() if k in wanted}
        pairs = [Pair(self.key, n, ir[n], vis[n]) for n in names]
        return Listing(self.key, root, pairs,
                       unpaired_ir=sorted(p for n, p in ir.items() if n not in vis),
                       unpaired_vis=sorted(p for n, p in vis.items() if n not in ir))


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _index(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."):
            if p.stem in out:
                raise DatasetError(f"{folder}: two image files share the name {p.stem!r} "
                                   f"({out[p.stem].name} and {p.name}); keep one")
            out[p.stem] = p
    return out
