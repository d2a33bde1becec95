"""Classical, weight-free fusion baselines (registered on import)."""
from . import simple  # noqa: F401  (registers "mean" and "max")
