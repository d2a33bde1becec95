"""``python -m benchmark.profiling``: the measuring child of :func:`benchmark.profiling.profile_in_subprocess`."""
import sys

from .child import child_main

sys.exit(child_main())
