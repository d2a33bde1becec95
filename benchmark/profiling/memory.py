"""Resident set size of this process (Linux ``/proc/self`` and ``getrusage``), for CPU peak memory."""
from __future__ import annotations

import sys

def rss_status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_rss_high_water_mark() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write "5" to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def ru_maxrss_bytes() -> int:
    import resource

    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value) if sys.platform == "darwin" else int(value) * 1024  # Linux reports KiB


def current_rss_bytes() -> int | None:
    return rss_status_bytes("VmRSS")
