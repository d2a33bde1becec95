"""Dataset registry: the standard fusion test splits in their official folder layouts.

Every dataset knows its official pair count (``specs/datasets.md`` §1, §4) and where it expects its
files below ``--data-root``; a missing dataset raises :class:`DatasetNotFoundError` with the expected
layout. Loaders yield :class:`LoadedPair` objects: the images as stored (uint8, for the metrics,
which apply each convention's own grey rule) and the float32 [0, 1] arrays the fusers consume
(IR grey; VIS RGB, or grey when the visible file is grey).

``synthetic`` is embedded and procedurally generated (no download), so the main command works on a
fresh machine.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ivif_toolbox import Registry, sha256_file

from .io import IMAGE_EXTENSIONS
from .io import ImageReadError, is_grey, read_image


class DatasetError(ValueError):
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

    def source_hash(self) -> str:
        """sha256 over both source files' bytes (or the generated pixels for synthetic pairs)."""
        h = hashlib.sha256()
        if self.generator is not None:
            ir, vis = self.generator()
            h.update(f"{ir.shape}{vis.shape}".encode())
            h.update(ir.tobytes())
            h.update(vis.tobytes())
        else:
            h.update(sha256_file(self.ir_path).encode())
            h.update(sha256_file(self.vis_path).encode())
        return h.hexdigest()


def grey_float(raw: np.ndarray) -> np.ndarray:
    """IR-role image -> float32 H×W in [0, 1]: equal-channel RGB is taken as grey; true colour -> BT.601 Y."""
    from .colour import luma

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
    not_in_manifest: int = 0


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
            f"Get it from: {self.source or 'see specs/datasets.md'}; set --data-root or $FUSION_DATA to the folder "
            f"that holds it.")

    def listing(self, data_root: str | Path | None) -> Listing:
        if self.embedded is not None:
            return Listing(self.key, None, self.embedded())
        if data_root is None:
            raise DatasetNotFoundError(f"dataset {self.key!r} needs --data-root (or $FUSION_DATA)")
        root, lay = self.locate(data_root)
        ir = _index(root / lay.ir_dir)
        vis = _index(root / lay.vis_dir)
        names = sorted(set(ir) & set(vis), key=_natural_key)
        not_in_manifest = 0
        if self.file_list is not None:
            wanted = set(self.file_list)
            not_in_manifest = len([n for n in names if n not in wanted])
            names = [n for n in names if n in wanted]
            ir = {k: v for k, v in ir.items() if k in wanted}
            vis = {k: v for k, v in vis.items() if k in wanted}
        pairs = [Pair(self.key, n, ir[n], vis[n]) for n in names]
        return Listing(self.key, root, pairs,
                       unpaired_ir=sorted(p for n, p in ir.items() if n not in vis),
                       unpaired_vis=sorted(p for n, p in vis.items() if n not in ir),
                       not_in_manifest=not_in_manifest)


def _natural_key(name: str):
    import re

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


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    return DATASETS.add(spec.key, spec)


def get_dataset(name: str) -> DatasetSpec:
    return DATASETS.get(name)


def list_datasets() -> list[str]:
    return DATASETS.names()


# ------------------------------------------------------------------------------ synthetic data
SYNTHETIC_VERSION = 1
#: (height, width) of the embedded pairs; odd sizes on purpose; every side ≥ 176 so that every
#: metric (5-level MS-SSIM needs > 160) is defined.
SYNTHETIC_SIZES = ((240, 320), (333, 517), (256, 256), (181, 243), (288, 352), (200, 300), (320, 240), (177, 401))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    x -= x.min()
    return x / max(float(x.max()), 1e-12)


def synthetic_pair(index: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic IR/VIS pair ``index``: uint8 IR (H×W) and uint8 RGB VIS (H×W×3).

    IR: a smooth thermal background with a few hot targets (blurred ellipses) and faint sensor noise.
    VIS: a textured scene (sky gradient, textured ground, striped blocks) in colour, with a dark
    (under-exposed) region and an over-exposed region; the targets are barely visible in it.
    """
    from scipy.ndimage import gaussian_filter

    h, w = SYNTHETIC_SIZES[index]
    rng = np.random.default_rng(1000 + index)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # --- infrared
    ir = 0.15 + 0.25 * _smooth_noise(rng, (h, w), sigma=min(h, w) / 6) + 0.05 * (yy / h)
    targets = np.zeros((h, w))
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.1, 0.9) * w
        ry, rx = rng.uniform(0.05, 0.15) * h, rng.uniform(0.02, 0.06) * w
        targets = np.maximum(targets, (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0) * rng.uniform(0.75, 1.0))
    targets = gaussian_filter(targets, 1.5)
    ir = np.maximum(ir, targets) + 0.01 * rng.standard_normal((h, w))
    # --- visible
    horizon = rng.uniform(0.3, 0.5) * h
    sky = np.stack([0.45 + 0.3 * (1 - yy / h), 0.55 + 0.3 * (1 - yy / h), 0.8 + 0.15 * (1 - yy / h)], -1)
    tex = _smooth_noise(rng, (h, w), 1.0) * 0.5 + _smooth_noise(rng, (h, w), 4.0) * 0.5
    ground = np.stack([0.25 + 0.35 * tex, 0.3 + 0.35 * tex, 0.15 + 0.25 * tex], -1)
    vis = np.where((yy < horizon)[..., None], sky, ground)
    for _ in range(int(rng.integers(2, 5))):  # striped blocks ("buildings")
        y0 = int(rng.uniform(0.1, 0.5) * h)
        x0, bw = int(rng.uniform(0, 0.8) * w), int(rng.uniform(0.08, 0.2) * w)
        block = 0.35 + 0.25 * (np.sin(xx[y0:, x0:x0 + bw] * rng.uniform(0.3, 0.9)) > 0)
        colour = rng.uniform(0.5, 1.0, size=3)
        vis[y0:, x0:x0 + bw] = block[..., None] * colour
    vis += 0.08 * (targets[..., None] > 0.5) * 0.3  # targets barely visible
    dark = _smooth_noise(rng, (h, w), min(h, w) / 5) > 0.68       # under-exposed region
    vis[dark] *= 0.12
    bright_c = (rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w)
    bright = ((yy - bright_c[0]) ** 2 + (xx - bright_c[1]) ** 2) < (0.12 * min(h, w)) ** 2
    vis[bright] = 0.92 + 0.3 * vis[bright]                        # over-exposed (clips to 255)
    vis += 0.01 * rng.standard_normal(vis.shape)
    ir8 = np.clip(np.floor(ir * 255 + 0.5), 0, 255).astype(np.uint8)
    vis8 = np.clip(np.floor(vis * 255 + 0.5), 0, 255).astype(np.uint8)
    return ir8, vis8


def _synthetic_pairs() -> list[Pair]:
    return [Pair("synthetic", f"synth_{i:02d}", generator=(lambda i=i: synthetic_pair(i)))
            for i in range(len(SYNTHETIC_SIZES))]


# ------------------------------------------------------------------------------ registry entries
ROADSCENE_50 = tuple(f"FLIR_{n}" for n in (
    "00211 00977 01130 04269 04424 04484 04512 04593 04688 04722 04943 05005 05064 05105 05857 05879 "
    "05893 05914 05955 06282 06325 06392 06430 06506 06570 06795 06974 06993 06995 07190 07206 07209 "
    "07555 07732 07786 07809 07968 07970 08021 08058 08094 08202 08248 08284 08526 08592 08721 08858 "
    "09465").split()) + ("FLIR_video_02829",)

for _spec in (
    DatasetSpec("synthetic", "Synthetic (embedded)", len(SYNTHETIC_SIZES), "synthetic-v1",
                source="generated in benchmark/datasets.py (no download)",
                description="deterministic procedural IR/VIS pairs (hot targets; textured VIS with dark and "
                            "over-exposed regions; odd sizes)", embedded=_synthetic_pairs),
    DatasetSpec("msrs", "MSRS", 361, "msrs-test", roots=("MSRS",), layouts=(Layout("test/ir", "test/vi"),),
                source="github.com/Linfeng-Tang/MSRS (test/ir, test/vi)",
                description="640×480 PNG road scenes; IR grey, VIS RGB"),
    DatasetSpec("llvip", "LLVIP", 3463, "llvip-test", roots=("LLVIP",),
                layouts=(Layout("infrared/test", "visible/test"),),
                source="github.com/bupt-ai-cz/LLVIP (infrared/test, visible/test)",
                description="1280×1024 JPEG low-light pedestrians; IR stored as 3-channel grey"),
    DatasetSpec("tno", "TNO", 25, "tno-25", roots=("TNO", "TNO-25", "TNO25"), layouts=(Layout("ir", "vi"),),
                source="MMIF-CDDFuse test_img/TNO (ir, vi; 01–25)",
                description="CDDFuse's 25-pair TNO test set (renumbered subset of Tang's 42)"),
    DatasetSpec("tno-42", "TNO-42", 42, "tno-42", roots=("TNO-42", "TNO42", "Image/Source-Image/TNO"),
                layouts=(Layout("ir", "vi"),),
                source="Linfeng-Tang/Evaluation-for-Image-Fusion Image/Source-Image/TNO (ir, vi; 01–42)",
                description="Tang's 42-pair TNO set (published per-image metric values)"),
    DatasetSpec("roadscene", "RoadScene", 221, "roadscene-221", roots=("RoadScene",),
                layouts=(Layout("cropinfrared", "crop_LR_visible"), Layout("ir", "vi")),
                source="github.com/hanna-xu/RoadScene (cropinfrared, crop_LR_visible)",
                description="all 221 aligned pairs (no official split)"),
    DatasetSpec("roadscene-50", "RoadScene-50", 50, "roadscene-50", roots=("RoadScene",),
                layouts=(Layout("cropinfrared", "crop_LR_visible"), Layout("ir", "vi")), file_list=ROADSCENE_50,
                source="CDDFuse's 50-pair list (specs/datasets.md §2.4) over RoadScene",
                description="CDDFuse's 50-pair RoadScene test list"),
    DatasetSpec("m3fd", "M3FD", 300, "m3fd-fusion", roots=("M3FD_Fusion", "M3FD/M3FD_Fusion"),
                layouts=(Layout("Ir", "Vis"),), source="TarDAL (JinyuanLiu-CV/TarDAL) M3FD_Fusion/{Ir,Vis}",
                description="300 independent fusion scenes, mostly 1024×768"),
    DatasetSpec("harvard-ct", "MRI-CT", 21, "harvard-ct", roots=("Harvard/MRI_CT", "MRI_CT"),
                layouts=(Layout("CT", "MRI"),), roles="ir role = CT, vis role = MRI (as CDDFuse test_MIF.py)",
                source="MMIF-CDDFuse test_img/MRI_CT (11–31)", description="Harvard AANLIB MRI-CT, 256×256"),
    DatasetSpec("harvard-pet", "MRI-PET", 42, "harvard-pet", roots=("Harvard/MRI_PET", "MRI_PET"),
                layouts=(Layout("MRI", "PET"),), roles="ir role = MRI, vis role = PET (pseudo-colour: Y fused, CbCr kept)",
                source="MMIF-CDDFuse test_img/MRI_PET (11–52)", description="Harvard AANLIB MRI-PET, 256×256"),
    DatasetSpec("harvard-spect", "MRI-SPECT", 73, "harvard-spect", roots=("Harvard/MRI_SPECT", "MRI_SPECT"),
                layouts=(Layout("MRI", "SPECT"),), roles="ir role = MRI, vis role = SPECT (pseudo-colour: Y fused, CbCr kept)",
                source="MMIF-CDDFuse test_img/MRI_SPECT (11–83)", description="Harvard AANLIB MRI-SPECT, 256×256"),
    DatasetSpec("vifb", "VIFB", 21, "vifb-21", roots=("VIFB/input", "VIFB"), layouts=(Layout("IR", "VI"),),
                source="github.com/xingchenzhang/VIFB input/{IR,VI}", description="VIFB's 21 pairs (JPEG)"),
):
    register_dataset(_spec)


# ------------------------------------------------------------------------------ validation
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


def iter_loaded(pairs: list[Pair]) -> Iterator[LoadedPair]:
    for p in pairs:
        yield p.load()
