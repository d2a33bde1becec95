"""``validate``: is each dataset below the data root, complete, paired, decodable, of equal sizes?"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..io import ImageReadError, read_image
from .spec import DatasetError, DatasetNotFoundError, DatasetSpec


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

    @property
    def status(self) -> str:
        if not self.found:
            return "missing"
        if self.unreadable or self.size_mismatches:
            return "errors"
        if self.pair_count == self.official_count and not self.unpaired:
            return "complete"
        return "subset" if self.pair_count < self.official_count else "differs"

    @property
    def ok(self) -> bool:
        return self.found and not (self.unreadable or self.size_mismatches)


def validate_dataset(spec: DatasetSpec, data_root: str | Path | None, *, decode: bool = True) -> ValidationReport:
    """Check a dataset below ``data_root``: presence, pair count vs official, pairing, decodability, sizes."""
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
        out += [f"  {'':<14}   unpaired: {u}" for u in rep.unpaired]
        out += [f"  {'':<14}   unreadable: {u}" for u in rep.unreadable]
        out += [f"  {'':<14}   IR/VIS size mismatch: {u}" for u in rep.size_mismatches]
    return "\n".join(out)
