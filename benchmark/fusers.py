"""Turning ``--fusers`` tokens into fusers: registry names, result folders and plug-ins.

Token forms:

* ``gff`` — a registered fuser (``python -m benchmark ls --fusers``);
* ``folder:NAME=PATH`` — a directory of already-fused images (a method's published results),
  evaluated as the method ``NAME``;
* ``package.module:ClassName`` — a user's :class:`models.Fuser` subclass, built with the
  ``--fuser-arg key=value`` keyword arguments;
* fusers registered by installed packages through the ``benchmark.fusers`` entry-point group
  (loaded by :func:`load_entry_point_fusers`) are used by their registry name.
"""
from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import models
from models.base import Fuser

from ivif_toolbox import sha256_file

from .errors import ConfigError, InputError
from .io import IMAGE_EXTENSIONS, read_image
from .plugins import PluginGroup

ENTRY_POINT_GROUP = "benchmark.fusers"


class PluginError(InputError):
    """A plug-in fuser given as ``module:Class`` could not be imported or built; the message says why."""


class FuserTokenError(InputError):
    """A ``--fusers`` token that is neither a registered name, a folder spec nor a plug-in path."""


def register_plugin_fuser(name: str, cls: type) -> None:
    """Register a plug-in's :class:`models.Fuser` subclass under ``name`` (tagged ``plugin``; the
    description is the first line of its docstring, the reference its ``reference`` attribute)."""
    if not (inspect.isclass(cls) and issubclass(cls, Fuser)):
        raise TypeError(f"expected a models.Fuser subclass, got {cls!r}")
    models.register_fuser(name, description=(cls.__doc__ or "").strip().split("\n")[0],
                          reference=getattr(cls, "reference", ""), tags=("plugin",))(cls)


def _register_entry_point(ep, obj) -> None:
    """A ``benchmark.fusers`` entry point: a module (its import registered its fusers) or a Fuser subclass."""
    if inspect.ismodule(obj):
        return
    if not (inspect.isclass(obj) and issubclass(obj, Fuser)):
        raise TypeError(f"expected a module or a models.Fuser subclass, got {obj!r}")
    if ep.name not in models.FUSERS:
        register_plugin_fuser(ep.name, obj)


#: the fusers of installed packages (``[project.entry-points."benchmark.fusers"]``)
FUSER_PLUGINS = PluginGroup(ENTRY_POINT_GROUP, _register_entry_point)


def load_entry_point_fusers() -> list[str]:
    """Import every ``benchmark.fusers`` entry point of the installed packages (once).

    An entry point may name a module (importing it registers its fusers with
    :func:`models.register_fuser`) or a :class:`models.Fuser` subclass, which is registered under the
    entry point's name. A broken one is reported (:class:`~benchmark.plugins.PluginWarning`) and
    skipped. Returns the names of the entry points loaded.
    """
    return FUSER_PLUGINS.load()


@dataclass
class FuserEntry:
    """A fuser as the runner sees it."""

    name: str                        # leaderboard row name
    token: str                       # what the user typed
    fuser: Fuser | None = None       # None for folder entries
    folder: "ResultFolder | None" = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_folder(self) -> bool:
        return self.folder is not None

    def config(self) -> dict[str, Any]:
        if self.folder is not None:
            return self.folder.config()
        return self.fuser.config()

    def config_hash(self) -> str:
        if self.folder is not None:
            return self.folder.config_hash()
        return self.fuser.config_hash()


_FOLDER_RE = re.compile(r"^folder:(?P<name>[^=]+)=(?P<path>.+)$")
_PLUGIN_RE = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<cls>[A-Za-z_]\w*)$")


def check_token(token: str) -> None:
    """Raise :class:`models.UnknownNameError` (with a suggestion) for an unknown plain name."""
    if _FOLDER_RE.match(token) or _PLUGIN_RE.match(token):
        return
    models.fuser_spec(token)  # raises UnknownNameError with did-you-mean


def build_fuser_entry(token: str, *, kwargs: dict[str, Any] | None = None, device: str = "cpu") -> FuserEntry:
    kwargs = dict(kwargs or {})
    m = _FOLDER_RE.match(token)
    if m:
        if kwargs:
            raise FuserTokenError(f"{token}: --fuser-arg does not apply to result folders (got {sorted(kwargs)})")
        return FuserEntry(name=m["name"], token=token, folder=ResultFolder(m["name"], Path(m["path"])))
    m = _PLUGIN_RE.match(token)
    if m and token not in models.FUSERS:
        try:
            module = importlib.import_module(m["module"])
        except ImportError as exc:
            raise PluginError(f"--fusers {token}: cannot import module {m['module']!r} ({exc}); is it installed "
                              f"or on PYTHONPATH?") from None
        cls = getattr(module, m["cls"], None)
        if cls is None:
            raise PluginError(f"--fusers {token}: module {m['module']!r} has no attribute {m['cls']!r}")
        if not (inspect.isclass(cls) and issubclass(cls, Fuser)):
            raise PluginError(f"--fusers {token}: expected a subclass of models.Fuser, got {cls!r}")
        try:
            fuser = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise PluginError(f"--fusers {token}: cannot build {cls.__name__} with {kwargs}: {exc}") from None
        fuser.name = getattr(cls, "name", None) if getattr(cls, "name", "fuser") != "fuser" else cls.__name__
        fuser.init_kwargs = kwargs
        _move(fuser, device)
        return FuserEntry(name=fuser.name, token=token, fuser=fuser, kwargs=kwargs)
    spec = models.fuser_spec(token)
    accepted = _accepted_kwargs(spec.load())
    if "device" in accepted and "device" not in kwargs:
        kwargs["device"] = device
    unknown = [k for k in kwargs if accepted is not None and k not in accepted]
    if unknown:
        raise FuserTokenError(f"fuser {token!r} does not take {unknown}; it accepts {sorted(accepted)}")
    try:
        fuser = models.create_fuser(token, **kwargs)
    except (TypeError, ValueError) as exc:   # a bad keyword value: the fuser's own message says which
        raise ConfigError(f"fuser {token!r} with {kwargs}: {exc}") from None
    if accepted is None or "device" not in accepted:
        _move(fuser, device)
    return FuserEntry(name=spec.name, token=token, fuser=fuser, kwargs=kwargs)


def _move(fuser: Fuser, device: str) -> None:
    if device != "cpu" or fuser.device != "cpu":
        fuser.to(device)


def _accepted_kwargs(factory) -> set[str] | None:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# ------------------------------------------------------------------------- result folders
_SUFFIXES = ("_fused", "-fused", "_fusion", "-fusion", "_result", "_out")


class ResultFolder:
    """Already-fused images of one method, matched to dataset pairs by file name.

    Matching is tolerant: extension and case are ignored; besides ``<pair>.<ext>`` it accepts
    ``<pair>_fused``, ``fused_<pair>``, ``<pair>_<METHOD>`` (METHOD = the entry's NAME) and the other
    suffixes in ``_SUFFIXES``. Images may sit directly in the folder or in a sub-folder named after the
    dataset (``PATH/<dataset>/`` or its title, e.g. ``PATH/MSRS/``).
    """

    def __init__(self, name: str, path: Path):
        if not path.is_dir():
            raise FuserTokenError(f"folder:{name}={path}: no such directory")
        self.name = name
        self.path = path
        self._index: dict[Path, dict[str, Path]] = {}

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "class": "folder", "path": str(self.path.resolve())}

    def config_hash(self) -> str:
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.config(), sort_keys=True).encode()).hexdigest()[:16]

    def folder_for(self, dataset: str, title: str) -> Path:
        for sub in (dataset, title, title.lower(), dataset.upper()):
            if (self.path / sub).is_dir():
                return self.path / sub
        return self.path

    def _files(self, folder: Path) -> dict[str, Path]:
        if folder not in self._index:
            self._index[folder] = {p.stem.lower(): p for p in sorted(folder.iterdir())
                                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS}
        return self._index[folder]

    def match(self, dataset: str, title: str, pair_names: list[str]) -> tuple[dict[str, Path], list[Path]]:
        """Map pair name -> file; also return the files that matched no pair (reported, not used)."""
        files = self._files(self.folder_for(dataset, title))
        method = self.name.lower()
        found: dict[str, Path] = {}
        for name in pair_names:
            n = name.lower()
            for cand in (n, *(n + s for s in _SUFFIXES), f"fused_{n}", f"{n}_{method}", f"{method}_{n}"):
                if cand in files:
                    found[name] = files[cand]
                    break
        used = set(found.values())
        return found, sorted(p for p in files.values() if p not in used)

    @staticmethod
    def load(path: Path, shape: tuple[int, int]) -> np.ndarray:
        img = read_image(path)
        if img.shape[:2] != tuple(shape):
            raise ValueError(f"{path}: fused image is {img.shape[1]}×{img.shape[0]} but the source pair is "
                             f"{shape[1]}×{shape[0]} (W×H)")
        return img

    @staticmethod
    def file_hash(path: Path) -> str:
        return sha256_file(path)
