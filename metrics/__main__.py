"""``python -m metrics [-v]``: print the metrics x conventions table."""
from __future__ import annotations

import argparse

from . import describe


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m metrics", description=__doc__)
    ap.add_argument("-v", "--verbose", action="store_true", help="add references and conventions")
    args = ap.parse_args(argv)
    print(describe(verbose=args.verbose))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
