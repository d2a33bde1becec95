"""Fusion methods behind one :class:`~models.base.Fuser` interface, with a registry.

``models`` never imports ``benchmark``: training loops take batches; the CLI builds datasets.
Importing this package registers every built-in fuser: the classical baselines directly, DMNet and
RED lazily (:mod:`models.catalog`), so ``import models`` never imports PyTorch; the deep model code
is imported when one of them is built (:func:`create_fuser`, :func:`trainer_class`).
"""
from .base import Fuser, FuserInputError, FuserOutputError, InputContract, TorchFuser
from .registry import (FUSERS, TRAINERS, FuserSpec, UnknownNameError, create_fuser, fuser_spec, list_fusers,
                       register_fuser, register_lazy_fuser, register_lazy_trainer, register_trainer, trainer_class)
from . import baselines  # noqa: F401  (registers the classical fusers)
from . import catalog  # noqa: F401  (registers dmnet, dmnet-tiny, red, red-tiny and their trainers, lazily)

__all__ = ["Fuser", "TorchFuser", "InputContract", "FuserInputError", "FuserOutputError", "FUSERS",
           "FuserSpec", "UnknownNameError", "create_fuser", "fuser_spec", "list_fusers", "register_fuser",
           "register_lazy_fuser", "TRAINERS", "register_trainer", "register_lazy_trainer", "trainer_class"]
