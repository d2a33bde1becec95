"""Efficiency measurement of fusers: parameters, FLOPs, latency per pair and peak memory.

Both papers the project reproduces sell efficiency: DMNet reports 386.358 M parameters, 1.466 s per
MSRS pair and a 9.94 GB peak on an A100 (DMNet paper, Table VIII and §IV); RED reports 7.14 GB of
training memory and 1.3 s per image at T = 2 (RED paper, Tables 2 and 5). Fusion toolkits usually
time without CUDA synchronisation, include image I/O, and never report memory. This package
implements the project's protocol (``docs/efficiency.md``), one job per module:

* :mod:`.record`: :class:`EfficiencyRecord`, what its figures mean, its JSON files;
* :mod:`.inputs`: sizes (:func:`parse_size`), the smooth input pair, devices;
* :mod:`.measure`: :func:`profile_fuser` (this process; parameters, latency, memory, FLOPs);
* :mod:`.child`: :func:`profile_in_subprocess` (a fresh process, so CPU peak memory is one fuser's);
  ``python -m benchmark.profiling`` is its measuring child and does not depend on the CLI;
* :mod:`.flops`: :func:`count_flops`; :mod:`.memory`: resident set size; :mod:`.table`:
  :func:`render_efficiency_table`. The hardware description is :mod:`benchmark.hardware`'s.
"""
from .child import profile_in_subprocess
from .flops import FlopCount, count_flops
from .inputs import parse_size, smooth_input_pair
from .measure import profile_fuser
from .record import (FLOPS_METHOD, MEM_KIND_CUDA, MEM_KIND_FRESH, MEM_KIND_LIFETIME, MEM_KIND_RESET, WHAT_IS_TIMED,
                     EfficiencyRecord, ProfilingError, read_efficiency_json, write_efficiency_json)
from .table import render_efficiency_table

__all__ = ["EfficiencyRecord", "FlopCount", "ProfilingError", "WHAT_IS_TIMED", "FLOPS_METHOD", "MEM_KIND_CUDA",
           "MEM_KIND_FRESH", "MEM_KIND_RESET", "MEM_KIND_LIFETIME", "count_flops", "parse_size", "profile_fuser",
           "profile_in_subprocess", "read_efficiency_json", "render_efficiency_table", "smooth_input_pair",
           "write_efficiency_json"]
