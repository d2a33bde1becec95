"""The dataset registry, and datasets of installed packages (entry-point group ``benchmark.datasets``)."""
from __future__ import annotations

import inspect

from ivif_toolbox import Registry

from ..plugins import PluginGroup
from .spec import DatasetSpec

ENTRY_POINT_GROUP = "benchmark.datasets"

DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to the registry under ``spec.key`` (a second dataset of the same key is an error)."""
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"register_dataset expects a DatasetSpec, got {type(spec).__name__}")
    return DATASETS.add(spec.key, spec)


def _register_entry_point(ep, obj) -> None:
    """A ``benchmark.datasets`` entry point: a module (its import registered its datasets), a
    DatasetSpec, or a list/tuple of them."""
    if inspect.ismodule(obj):
        return
    specs = obj if isinstance(obj, (list, tuple)) else [obj]
    bad = [s for s in specs if not isinstance(s, DatasetSpec)]
    if bad or not specs:
        raise TypeError(f"expected a module, a DatasetSpec or a list of them, got {obj!r}")
    for spec in specs:
        if spec.key not in DATASETS or DATASETS.get(spec.key) is not spec:
            register_dataset(spec)


#: the datasets of installed packages (``[project.entry-points."benchmark.datasets"]``)
DATASET_PLUGINS = PluginGroup(ENTRY_POINT_GROUP, _register_entry_point)


def load_entry_point_datasets() -> list[str]:
    """Load every ``benchmark.datasets`` entry point (once); a broken one is reported and skipped."""
    return DATASET_PLUGINS.load()


def get_dataset(name: str) -> DatasetSpec:
    """The registered dataset ``name`` (plug-ins included); UnknownNameError with a suggestion otherwise."""
    load_entry_point_datasets()
    return DATASETS.get(name)
