"""Fusers used by the tests as a user's own code would be (``--fusers tests.plugins.user_fusers:Name``)."""
import time

import numpy as np

from models import Fuser


class SlowMean(Fuser):
    """Pixel mean that sleeps, so a test can kill a run mid-way."""

    def __init__(self, delay: float = 0.3):
        self.delay = float(delay)

    def fuse(self, ir, vis_y):
        time.sleep(self.delay)
        return 0.5 * (ir + vis_y)


class Broken(Fuser):
    """Fails on pairs whose width is odd and returns NaN on others with width divisible by 4."""

    def fuse(self, ir, vis_y):
        if ir.shape[1] % 2:
            raise RuntimeError("broken on odd widths")
        if ir.shape[1] % 4 == 0:
            return np.full_like(ir, np.nan)
        return ir
