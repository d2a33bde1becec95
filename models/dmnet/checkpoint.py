"""Reading and writing DMNet weights: the official release format and the project's single file.

Official release (spec §5):

* ``dmnet.pth``: ``torch.save({'DIDF_Encoder': sd, 'DIDF_Decoder': sd})`` with DataParallel's
  ``module.`` prefix on every key (199 + 168 tensors for the released widths; DANet's files name the
  groups ``'Encoder'``/``'Decoder'``, accepted as aliases);
* ``<name>_gen.pth`` (``diffusion_gen.pth`` in the test config): the flat state dict of the
  diffusion wrapper, U-Net keys prefixed ``denoise_fn.`` (362 tensors), possibly with the SR3
  noise-schedule buffers, which are ignored (with a warning when they disagree with the config).

The official files hold no weights for the top-level CSAB, upSkip, its CSAB and reduce_channel1
(the release re-creates them randomly); loading an official pair initialises those four groups with
PyTorch's default initialisation from a fixed seed and reports them in :class:`LoadReport`.

Project format (spec §5.4): one file, the official group names as key prefixes without
``module.``: ``DIDF_Encoder.*``, ``DIDF_Decoder.*``, ``CSAB.*``, ``upSkip.*`` (``to2`` … ``to162``),
``upSkip_CSAB.*``, ``reduce_channel1.*`` and ``DM.denoise_fn.*``; stored as safetensors (what the
training loop writes) or as a ``torch.save`` dict (flat, or nested by group). Files are only ever
read with safetensors or ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import nn

from ..weights_files import check_weights_file, few_keys
from .model import reset_parameters_
from .sr3 import SCHEDULE_BUFFER_NAMES

__all__ = ["GROUPS", "OFFICIAL_GROUPS", "SEEDED_IN_OFFICIAL", "CheckpointError", "LoadReport",
           "project_state_dict", "official_state_dicts", "read_checkpoint", "load_groups",
           "load_dmnet_weights", "project_keys", "sha256_files"]

#: checkpoint group name → attribute of :class:`~models.dmnet.model.DMNet`
GROUPS: dict[str, str] = {
    "DIDF_Encoder": "encoder",
    "DIDF_Decoder": "decoder",
    "CSAB": "csab",
    "upSkip": "up_skip",
    "upSkip_CSAB": "up_skip_csab",
    "reduce_channel1": "reduce_channel1",
    "DM": "diffusion",
}
OFFICIAL_GROUPS = ("DIDF_Encoder", "DIDF_Decoder", "DM")
#: groups the official files do not contain (created randomly by the released code)
SEEDED_IN_OFFICIAL = ("CSAB", "upSkip", "upSkip_CSAB", "reduce_channel1")
_ALIASES = {"Encoder": "DIDF_Encoder", "Decoder": "DIDF_Decoder"}  # DANet's naming
_OFFICIAL_DIR_NAMES = ("dmnet.pth", "diffusion_gen.pth")


class CheckpointError(ValueError):
    """A checkpoint that does not fit the model: unknown layout, missing/unexpected keys, wrong shapes."""


@dataclass
class LoadReport:
    """What a load did. ``kind`` is "official" or "project"; key names are ``<group>.<key>``."""

    kind: str
    files: list[Path]
    loaded_groups: list[str] = field(default_factory=list)
    seeded_groups: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)   # e.g. the official schedule buffers
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class CheckpointContents:
    kind: str
    files: list[Path]
    groups: dict[str, dict[str, torch.Tensor]]
    unexpected: list[str] = field(default_factory=list)  # keys outside every group
    schedule: dict[str, torch.Tensor] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ writing
def project_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Flat project-format state dict (``<group>.<key>``) of a DMNet, detached, on its device."""
    out: dict[str, torch.Tensor] = {}
    for group, attr in GROUPS.items():
        for k, v in getattr(model, attr).state_dict().items():
            out[f"{group}.{k}"] = v.detach()
    return out


def official_state_dicts(model: nn.Module, *, module_prefix: bool = True
                         ) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """The two official files' contents for ``model``: ``({'DIDF_Encoder', 'DIDF_Decoder'}, gen)``.

    Used to export a project model to the release format and, in the tests, to generate files in the
    official key layout. ``gen`` holds the ``denoise_fn.*`` tensors without the schedule buffers.
    """
    p = "module." if module_prefix else ""
    enc_dec = {g: {p + k: v.detach().clone() for k, v in getattr(model, GROUPS[g]).state_dict().items()}
               for g in ("DIDF_Encoder", "DIDF_Decoder")}
    gen = {k: v.detach().clone() for k, v in model.diffusion.state_dict().items()}
    return enc_dec, gen


# ------------------------------------------------------------------------------------------ reading
def _strip_module(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def _torch_load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only refuses arbitrary pickled objects: say so clearly
        raise CheckpointError(f"cannot read {path} with torch.load(weights_only=True) (only tensors and plain "
                              f"containers are accepted, never arbitrary pickled objects): {err}") from err


def _is_tensor_dict(obj) -> bool:
    return isinstance(obj, Mapping) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _split_flat(flat: Mapping[str, torch.Tensor], files: list[Path], metadata: dict[str, str]) -> CheckpointContents:
    """Split a flat dict: ``<group>.<key>`` (project), ``denoise_fn.*`` + schedule buffers (official DM)."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    unexpected, schedule = [], {}
    official_dm = False
    for key, val in flat.items():
        head, _, rest = key.partition(".")
        head = _ALIASES.get(head, head)
        if head in GROUPS and rest:
            groups.setdefault(head, {})[rest] = val
        elif key.startswith(("denoise_fn.", "module.denoise_fn.")):
            groups.setdefault("DM", {})[key] = val
            official_dm = True
        elif key in SCHEDULE_BUFFER_NAMES or key.removeprefix("module.") in SCHEDULE_BUFFER_NAMES:
            schedule[key.removeprefix("module.")] = val
            official_dm = True
        else:
            unexpected.append(key)
    kind = "official" if official_dm and set(groups) <= {"DM"} else "project"
    return CheckpointContents(kind, files, {g: _strip_module(sd) for g, sd in groups.items()}, unexpected,
                              schedule, metadata)


def _read_file(path: Path) -> CheckpointContents:
    if not path.is_file():
        raise FileNotFoundError(f"DMNet checkpoint not found: {path}")
    check_weights_file(path)            # empty, truncated or not a weights file: say so, naming the file
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        tensors: dict[str, torch.Tensor] = {}
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
        return _split_flat(tensors, [path], metadata)
    obj = _torch_load(path)
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a dict of state dicts or tensors, got {type(obj).__name__}")
    if isinstance(obj.get("model"), Mapping) and "fuser" in obj:  # the training loop's train_state.pt
        inner = {}
        for group, attr in GROUPS.items():
            for k, v in obj["model"].items():
                if k.startswith(attr + "."):
                    inner[f"{group}.{k[len(attr) + 1:]}"] = v
        leftovers = [k for k in obj["model"] if not any(k.startswith(a + ".") for a in GROUPS.values())]
        contents = _split_flat(inner, [path], {"source": f"training state of {obj['fuser']}"})
        contents.unexpected += leftovers
        return contents
    if _is_tensor_dict(obj):
        return _split_flat(obj, [path], {})
    nested = {_ALIASES.get(k, k): v for k, v in obj.items()}
    unknown = [k for k, v in nested.items() if k not in GROUPS or not _is_tensor_dict(v)]
    if unknown or not nested:
        raise CheckpointError(f"{path}: unrecognised DMNet checkpoint layout; top-level keys {sorted(obj)[:20]} "
                              f"(expected 'DIDF_Encoder'/'DIDF_Decoder' state dicts, a flat 'denoise_fn.*' "
                              f"state dict, or the project's '<group>.<key>' tensors)")
    groups = {g: _strip_module(sd) for g, sd in nested.items()}
    schedule = {}
    if "DM" in groups:
        for name in SCHEDULE_BUFFER_NAMES:
            if name in groups["DM"]:
                schedule[name] = groups["DM"].pop(name)
    kind = "official" if set(groups) <= {"DIDF_Encoder", "DIDF_Decoder"} else "project"
    return CheckpointContents(kind, [path], groups, [], schedule, {})


def _find_diffusion_beside(path: Path) -> Path | None:
    cands = sorted(path.parent.glob("*_gen.pth"))
    preferred = path.parent / "diffusion_gen.pth"
    if preferred in cands:
        return preferred
    return cands[0] if len(cands) == 1 else None


def read_checkpoint(path: str | Path, diffusion_path: str | Path | None = None) -> CheckpointContents:
    """Read a project file, an official ``dmnet.pth`` (+ its ``*_gen.pth``), or an official folder.

    ``path`` may be a folder holding ``dmnet.pth`` and ``diffusion_gen.pth`` (the release's
    ``weights/``). For an official encoder/decoder file without ``diffusion_path``, a
    ``diffusion_gen.pth`` (or the only ``*_gen.pth``) beside it is used.
    """
    path = Path(path)
    if path.is_dir():
        enc = path / "dmnet.pth"
        if not enc.is_file():
            found = sorted(p.name for p in path.iterdir())[:20]
            raise FileNotFoundError(f"{path} is a folder without the official 'dmnet.pth' (expected "
                                    f"{' and '.join(_OFFICIAL_DIR_NAMES)}); it holds {found}")
        path = enc
    contents = _read_file(path)
    needs_dm = contents.kind == "official" and "DM" not in contents.groups
    if diffusion_path is None and needs_dm:
        diffusion_path = _find_diffusion_beside(path)
        if diffusion_path is None:
            raise FileNotFoundError(f"{path} holds the official encoder/decoder only; the diffusion weights "
                                    f"('<name>_gen.pth', e.g. diffusion_gen.pth) are needed too: pass "
                                    f"diffusion_checkpoint= or put the file beside it")
    if diffusion_path is not None:
        dm = _read_file(Path(diffusion_path))
        if set(dm.groups) != {"DM"}:
            raise CheckpointError(f"{diffusion_path}: expected the diffusion file (only 'denoise_fn.*' keys), "
                                  f"found groups {sorted(dm.groups)}")
        if "DM" in contents.groups:
            raise CheckpointError(f"{path} already holds diffusion weights; do not also pass {diffusion_path}")
        contents.groups["DM"] = dm.groups["DM"]
        contents.schedule.update(dm.schedule)
        contents.unexpected += [f"{Path(diffusion_path).name}:{k}" for k in dm.unexpected]
        contents.files.append(Path(diffusion_path))
    return contents


# ------------------------------------------------------------------------------------------ loading
def _check_schedule(model: nn.Module, schedule: Mapping[str, torch.Tensor], source: str) -> None:
    ours = model.diffusion.schedule_buffers()
    bad = []
    for name, val in schedule.items():
        if name in ours:
            theirs = val.detach().cpu().double().numpy().reshape(-1)
            if theirs.shape != ours[name].shape or not np.allclose(theirs, ours[name], rtol=1e-4, atol=1e-7):
                bad.append(name)
    if bad:
        warnings.warn(f"{source}: the noise-schedule buffers {bad} disagree with the configured linear schedule "
                      f"({model.config.linear_start}→{model.config.linear_end} over {model.config.n_timestep}); "
                      f"they are ignored (feature extraction uses the configured schedule)", UserWarning, stacklevel=3)


def load_groups(model: nn.Module, groups: Mapping[str, Mapping[str, torch.Tensor]], *, strict: bool = True,
                source: str = "checkpoint") -> tuple[list[str], list[str]]:
    """Copy each group's tensors into its submodule; return (missing, unexpected) as ``group.key``.

    A tensor of the wrong shape always raises :class:`CheckpointError` naming the key and both shapes.
    With ``strict``, missing or unexpected keys raise, listed by name; otherwise they are returned
    (and warned about) and the matching tensors are loaded.
    """
    missing, unexpected, shapes = [], [], []
    for group, sd in groups.items():
        if group not in GROUPS:
            unexpected += [f"{group}.{k}" for k in sd]
            continue
        own = getattr(model, GROUPS[group]).state_dict()
        missing += [f"{group}.{k}" for k in own if k not in sd]
        unexpected += [f"{group}.{k}" for k in sd if k not in own]
        shapes += [f"{group}.{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                   for k, v in sd.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if shapes:
        raise CheckpointError(f"{source}: {len(shapes)} tensor(s) of the wrong shape (wrong variant or "
                              f"configuration?): " + "; ".join(shapes))
    if (missing or unexpected) and strict:
        raise CheckpointError(f"{source} does not match the model: missing keys {few_keys(missing)}; unexpected "
                              f"keys {few_keys(unexpected)}")
    if missing or unexpected:
        warnings.warn(f"{source}: loading non-strictly; missing keys {few_keys(missing)}; unexpected keys "
                      f"{few_keys(unexpected)}",
                      UserWarning, stacklevel=2)
    with torch.no_grad():
        for group, sd in groups.items():
            if group in GROUPS:
                getattr(model, GROUPS[group]).load_state_dict(dict(sd), strict=False)
    return missing, unexpected


def load_dmnet_weights(model: nn.Module, path: str | Path, diffusion_path: str | Path | None = None, *,
                       seed: int = 0, strict: bool = True) -> LoadReport:
    """Load official or project weights into ``model`` (a :class:`~models.dmnet.model.DMNet`).

    Groups absent from an official pair (:data:`SEEDED_IN_OFFICIAL`) are initialised with
    :func:`reset_parameters_` from ``seed``; a project file must hold every group (``strict``).
    """
    contents = read_checkpoint(path, diffusion_path)
    src = " + ".join(str(p) for p in contents.files)
    seeded = [g for g in GROUPS if g not in contents.groups]
    absent_keys: list[str] = []  # keys of absent groups that a complete file would have held
    if contents.kind == "official":
        lacking = [g for g in OFFICIAL_GROUPS if g in seeded]
        if lacking:
            raise CheckpointError(f"{src}: the official weights lack {lacking} (both dmnet.pth and the "
                                  f"diffusion '<name>_gen.pth' are needed)")
    else:
        absent_keys = [k for g in seeded for k in project_keys(model, g)]
        if absent_keys and strict:
            raise CheckpointError(f"{src}: project checkpoint lacks the groups {seeded} (missing keys: "
                                  f"{few_keys(absent_keys)})")
    if contents.unexpected and strict:
        raise CheckpointError(f"{src}: unexpected keys {few_keys(contents.unexpected)}")
    missing, unexpected = load_groups(model, contents.groups, strict=strict, source=src)
    if contents.schedule:
        _check_schedule(model, contents.schedule, src)
    for g in seeded:
        reset_parameters_(getattr(model, GROUPS[g]), seed)
    if absent_keys:
        warnings.warn(f"{src}: groups {seeded} absent; initialised randomly (seed {seed})", UserWarning, stacklevel=2)
    return LoadReport(kind=contents.kind, files=list(contents.files),
                      loaded_groups=[g for g in GROUPS if g in contents.groups], seeded_groups=seeded,
                      missing=missing + absent_keys, unexpected=unexpected + list(contents.unexpected),
                      ignored=sorted(contents.schedule), metadata=dict(contents.metadata))


def project_keys(model: nn.Module, group: str) -> list[str]:
    return [f"{group}.{k}" for k in getattr(model, GROUPS[group]).state_dict()]


def sha256_files(paths: list[Path]) -> str:
    """sha256 of one file; for several, sha256 over the per-file hex digests in order."""
    digests = []
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digests.append(h.hexdigest())
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("".join(digests).encode()).hexdigest()
