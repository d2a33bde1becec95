"""The benchmark harness: CLI, config, datasets, runner, results and reports.

``python -m benchmark run`` fuses every requested dataset × fuser × pair, computes the metrics of
:mod:`metrics`, caches per-pair results (resumable) and regenerates ``leaderboard.md``.
"""
__version__ = "0.1.0"
