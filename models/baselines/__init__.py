"""Classical, weight-free fusion baselines (registered on import).

``mean`` (weighted average) and ``max`` (max-absolute) are the pixel-level rules; ``lp``, ``rp``,
``dwt``, ``gff``, ``tif``, ``msvd``, ``adf`` and ``cbf`` follow their papers with the authors' (or
the reference toolboxes') default parameters; see each class docstring for the citation and any
deviation from the reference code.
"""
from . import simple  # noqa: F401  (registers "mean" and "max")
from . import pyramid  # noqa: F401  ("lp", "rp")
from . import wavelet  # noqa: F401  ("dwt")
from . import gff  # noqa: F401  ("gff")
from . import tif  # noqa: F401  ("tif")
from . import msvd  # noqa: F401  ("msvd")
from . import adf  # noqa: F401  ("adf")
from . import cbf  # noqa: F401  ("cbf")
