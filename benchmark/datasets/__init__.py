"""Datasets: spec types (:mod:`.spec`), the registry and plug-ins (:mod:`.registry`), the embedded
synthetic set (:mod:`.synthetic`), the built-in splits (:mod:`.builtin`) and validation
(:mod:`.validation`). Importing this package registers the built-in datasets."""
from .registry import (DATASET_PLUGINS, DATASETS, ENTRY_POINT_GROUP, get_dataset, load_entry_point_datasets,
                       register_dataset)
from .spec import (DatasetError, DatasetNotFoundError, DatasetSpec, Layout, Listing, LoadedPair, Pair, grey_float,
                   vis_float)
from .synthetic import SYNTHETIC_SIZES, synthetic_pair, synthetic_pairs
from .validation import ValidationReport, format_validation, validate_dataset
from . import builtin  # noqa: F401,E402  (registers the built-in datasets)
from .builtin import ROADSCENE_50

__all__ = ["DATASETS", "DATASET_PLUGINS", "ENTRY_POINT_GROUP", "DatasetError", "DatasetNotFoundError", "DatasetSpec",
           "Layout", "Listing", "LoadedPair", "Pair", "ROADSCENE_50", "SYNTHETIC_SIZES", "ValidationReport",
           "format_validation", "get_dataset", "grey_float", "load_entry_point_datasets", "register_dataset",
           "synthetic_pair", "synthetic_pairs", "validate_dataset", "vis_float"]
