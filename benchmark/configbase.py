"""Typed config dataclasses that parse every source alike: Python, a YAML/TOML file, the command line.

A field's value is coerced from its type annotation when the config is built (``__post_init__``) and
again by ``validate()``, so ``RunConfig(datasets="synthetic")``, ``datasets: synthetic`` in a YAML file
and ``--datasets synthetic`` on the command line give the same config:

* ``list[...]``: a single value becomes a one-element list;
* ``X | None``: ``None`` or the strings ``"none"``/``"null"`` (any case) become ``None``;
* ``int``/``float``/``bool``: numbers and booleans as such, or their spelling as a string
  (``"3"``, ``"0.5"``, ``"true"``/``"false"``/``"yes"``/``"no"``/``"on"``/``"off"``);
* ``str``: strings (integers are accepted and written as strings);
* a field may name its own parser (``field(metadata={"parse": fn})``, ``fn(value, config)``).

A wrong type raises :class:`~benchmark.errors.ConfigError` naming the field, what was expected and
what arrived; an unknown field name in a file gets a "did you mean".
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

from .errors import ConfigError

NONE_WORDS = frozenset({"none", "null"})
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_describe(a) for a in inner) + " or none"
    if origin is list:
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s (or one value)"
    if origin is dict:
        return "a mapping"
    if origin is tuple:
        return f"{len(args)} values"
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean (true/false)"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _got(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def coerce(value: Any, hint: Any, name: str) -> Any:
    """``value`` converted to the annotation ``hint`` (see the module docstring), or ConfigError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in NONE_WORDS):
            return None
        inner = [a for a in args if a is not type(None)]
        for a in inner:
            try:
                return coerce(value, a, name)
            except ConfigError:
                continue
        raise ConfigError(f"{name}: expected {_describe(hint)}, got {_got(value)}")
    if origin is list:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        return [coerce(v, args[0], f"{name}[{i}]") for i, v in enumerate(items)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name}: expected {_describe(hint)}, got {_got(value)}")
        return {coerce(k, args[0], f"{name} key"): coerce(v, args[1], f"{name}[{k!r}]") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    else:
        raise TypeError(f"{name}: unsupported config annotation {hint!r}")
    raise ConfigError(f"{name}: expected {_describe(hint)}, got {_got(value)}")


@dataclasses.dataclass
class ConfigBase:
    """Base of the subcommand configs: coercion on construction, loading from files and CLI overrides."""

    def __post_init__(self) -> None:
        self.coerce()

    def coerce(self) -> None:
        """(Re)coerce every field from its annotation or its field parser, in declaration order."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            parse = f.metadata.get("parse")
            setattr(self, f.name, parse(value, self) if parse else coerce(value, hints[f.name], f.name))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "config"):
        """Build from a mapping of field names (``-`` may stand for ``_``); unknown names are an error."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{origin}: expected a mapping of field names, got {type(data).__name__}")
        names = cls.field_names()
        clean = {str(k).replace("-", "_"): v for k, v in data.items()}
        unknown = [k for k in clean if k not in names]
        if unknown:
            hints = []
            for u in unknown:
                close = difflib.get_close_matches(u, names, 1)
                hints.append(f"{u!r} (did you mean {close[0]!r}?)" if close else repr(u))
            raise ConfigError(f"{origin}: unknown field(s) {', '.join(hints)}; known: {sorted(names)}")
        return cls(**clean)

    @classmethod
    def from_file(cls, path: str | Path):
        """Load a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file whose keys are the field names."""
        return cls.from_dict(read_config_file(path), origin=f"config file {path}")

    @classmethod
    def from_sources(cls, file: str | Path | None = None, overrides: Mapping[str, Any] | None = None):
        """Values of ``file`` (if any) with ``overrides`` (e.g. the command-line options given) on top."""
        data = dict(read_config_file(file)) if file else {}
        data.update({k.replace("-", "_"): v for k, v in (overrides or {}).items()})
        return cls.from_dict(data, origin=f"config file {file}" if file else "config")


def _one_line(exc: Exception) -> str:
    """A parser error on one line: YAML's marked errors as "line L, column C: problem (context)"."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        context = getattr(exc, "context", None)
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}" + (f" ({context})" if context else "")
    return " ".join(str(exc).split())


def _location(exc: Exception, text: str) -> str:
    """``:LINE:COLUMN`` (or ``:LINE``) of a parser error when the parser says where, else ""."""
    import re

    mark = getattr(exc, "problem_mark", None)                       # YAML
    if mark is not None:
        return f":{mark.line + 1}:{mark.column + 1}"
    found = re.search(r"at line (\d+), column (\d+)", str(exc))    # TOML
    if found:
        return f":{found.group(1)}:{found.group(2)}"
    if "end of document" in str(exc):
        return f":{max(1, len(text.splitlines()))}"
    return ""


def read_config_file(path: str | Path) -> Mapping[str, Any]:
    """The mapping in a YAML or TOML config file; ConfigError for a missing or malformed file."""
    path = Path(path)
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"config file {path}: expected .yaml, .yml or .toml, got {path.suffix!r}")
    if not path.is_file():
        raise ConfigError(f"config file {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        import tomllib

        parse, errors = tomllib.loads, (tomllib.TOMLDecodeError,)
    else:
        import yaml

        parse, errors = (lambda t: yaml.safe_load(t) or {}), (yaml.YAMLError,)
    try:
        data = parse(text)
    except errors as exc:   # the parser's message says where
        raise ConfigError(f"config file {path}{_location(exc, text)}: cannot parse it ({type(exc).__name__}: "
                          f"{_one_line(exc)})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {path}: expected a mapping of field names, got {type(data).__name__}")
    return data
