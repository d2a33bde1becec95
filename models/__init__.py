"""Fusion methods behind one :class:`~models.base.Fuser` interface, with a registry.

``models`` never imports ``benchmark``: training loops take batches; the CLI builds datasets.
Importing this package registers every built-in fuser (construction stays lazy).
"""
from .base import Fuser, FuserInputError, FuserOutputError, InputContract, TorchFuser
from .registry import (FUSERS, TRAINERS, FuserSpec, UnknownNameError, create_fuser, fuser_spec, list_fusers,
                       register_fuser, register_trainer, trainer_class)
from . import baselines  # noqa: F401  (registers the classical fusers)
from . import dmnet  # noqa: F401  (registers dmnet, dmnet-tiny and their trainers)
from . import red  # noqa: F401  (registers red, red-tiny and their trainers)

__all__ = ["Fuser", "TorchFuser", "InputContract", "FuserInputError", "FuserOutputError", "FUSERS",
           "FuserSpec", "UnknownNameError", "create_fuser", "fuser_spec", "list_fusers", "register_fuser",
           "TRAINERS", "register_trainer", "trainer_class"]
