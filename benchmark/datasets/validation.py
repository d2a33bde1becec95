"""``validate``: is each dataset below the data root the published split (file identity against its
manifest), complete, paired, decodable, of equal sizes?"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ivif_toolbox import sha256_file

from ..io import ImageReadError, read_image
from .spec import DatasetError, DatasetNotFoundError, DatasetSpec

if TYPE_CHECKING:
    from ..splits import SplitIdentity


@dataclass
class ValidationReport:
    dataset: str
    official_count: int
    found: bool
    root: Path | None = None
    pair_count: int = 0
    message: str = ""
    unpaired: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    size_mismatches: list[str] = field(default_factory=list)
    identity: SplitIdentity | None = None      # None: embedded dataset, or the folder could not be listed

    @property
    def status(self) -> str:
        """``missing``, ``errors``; else the identity status against the split's manifest (``verified``,
        ``subset``, ``differs``) or, without a manifest, the count-based ``complete`` / ``subset`` /
        ``differs``."""
        if not self.found:
            return "missing"
        if self.unreadable or self.size_mismatches:
            return "errors"
        if self.identity is not None and self.identity.status != "not-verified":
            return self.identity.status
        if self.pair_count == self.official_count and not self.unpaired:
            return "complete"
        return "subset" if self.pair_count < self.official_count else "differs"

    @property
    def ok(self) -> bool:
        return self.found and not (self.unreadable or self.size_mismatches)


def validate_dataset(spec: DatasetSpec, data_root: str | Path | None, *, decode: bool = True,
                     hashes: Callable[[Path], str] | None = None) -> ValidationReport:
    """Check a dataset below ``data_root``: presence, file identity against the split's manifest, pair
    count vs official, pairing, decodability, sizes.

    ``hashes(path) -> sha256 hex`` hashes the files for the identity check; pass a
    :class:`benchmark.hash_cache.FileHashCache` to reuse digests across calls (default: hash every file).
    """
    rep = ValidationReport(spec.key, spec.official_count, found=False)
    try:
        listing = spec.listing(data_root)
    except DatasetNotFoundError as exc:
        rep.message = str(exc).splitlines()[0]
        return rep
    except DatasetError as exc:
        rep.found, rep.message = True, str(exc)
        rep.unreadable.append(str(exc))
        return rep
    rep.found, rep.root, rep.pair_count = True, listing.root, len(listing.pairs)
    rep.unpaired = [f"{p} (no VIS partner)" for p in listing.unpaired_ir] + \
                   [f"{p} (no IR partner)" for p in listing.unpaired_vis]
    from PIL import Image

    for pair in listing.pairs:
        if pair.generator is not None:
            continue
        sizes = []
        for path in (pair.ir_path, pair.vis_path):
            try:
                if decode:
                    sizes.append(read_image(path).shape[:2])
                else:
                    with Image.open(path) as im:
                        sizes.append((im.height, im.width))
            except (ImageReadError, OSError) as exc:
                rep.unreadable.append(str(exc))
        if len(sizes) == 2 and sizes[0] != sizes[1]:
            rep.size_mismatches.append(f"{pair.name}: IR {sizes[0][1]}×{sizes[0][0]} vs VIS {sizes[1][1]}×{sizes[1][0]}")
    try:
        rep.identity = spec.identity(listing.pairs, sha256_file if hashes is None else hashes)
    except OSError as exc:
        rep.unreadable.append(f"identity check: {exc}")
    return rep


def format_validation(data_root: str | Path, specs: list[DatasetSpec], reports: list[ValidationReport]) -> str:
    """The report ``python -m benchmark validate`` prints, one block per dataset."""
    out = [f"data root: {Path(data_root).resolve()}"]
    for spec, rep in zip(specs, reports):
        if not rep.found:
            out.append(f"  {spec.key:<14} missing   0 / {spec.official_count} pairs; expected:")
            out += [f"  {'':<14}   {line.strip()}" for line in spec.expected_layout().splitlines()]
            continue
        where = f"at {rep.root}" if rep.root else "(embedded)"
        out.append(f"  {spec.key:<14} {rep.status:<9} {rep.pair_count} / {rep.official_count} pairs {where}")
        if rep.identity is not None:
            out.append(f"  {'':<14}   identity: {rep.identity.text}")
            out += [f"  {'':<14}     {line}" for line in rep.identity.details()]
        out += [f"  {'':<14}   unpaired: {u}" for u in rep.unpaired]
        out += [f"  {'':<14}   unreadable: {u}" for u in rep.unreadable]
        out += [f"  {'':<14}   IR/VIS size mismatch: {u}" for u in rep.size_mismatches]
    return "\n".join(out)
