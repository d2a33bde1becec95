"""Tiny presentation facts shared by listings, tables and figures."""
from __future__ import annotations


def direction_arrow(higher_is_better: bool) -> str:
    """"↑" for a metric where higher is better, "↓" where lower is better (as the papers' tables)."""
    return "↑" if higher_is_better else "↓"
