"""Fusers for the runner-pipeline tests, used as a user's own code would be
(``--fusers tests.plugins.pipeline_fusers:Name``). numpy only (no torch)."""
import sys

from models import Fuser


class ExitsOnOddWidths(Fuser):
    """Pixel mean that calls ``sys.exit()`` on pairs whose width is odd (a plug-in ending the process)."""

    def fuse(self, ir, vis_y):
        if ir.shape[1] % 2:
            sys.exit("plug-in gave up")
        return 0.5 * (ir + vis_y)


class InterruptsOnOddWidths(Fuser):
    """Pixel mean that raises ``KeyboardInterrupt`` (as Ctrl-C would) on pairs whose width is odd."""

    def fuse(self, ir, vis_y):
        if ir.shape[1] % 2:
            raise KeyboardInterrupt
        return 0.5 * (ir + vis_y)
