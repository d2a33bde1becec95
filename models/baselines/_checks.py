"""Argument validation shared by the baselines' constructors."""
from __future__ import annotations

import numpy as np


def check_int(value, *, fuser: str, name: str, minimum: int, odd: bool = False) -> int:
    """Return ``value`` as an ``int``; raise ``ValueError`` unless it is an integer >= ``minimum`` (odd if asked)."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum
            or (odd and value % 2 == 0)):
        kind = "an odd integer" if odd else "an integer"
        raise ValueError(f"{fuser}: {name} must be {kind} >= {minimum}, got {value!r}")
    return int(value)
