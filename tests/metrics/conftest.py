"""Fixtures for the metric tests and the conformance summary line.

Conformance fixtures live in two places: a subset in the repository (``tests/metrics/conformance``,
always present) and the full set in ``../shared/fixtures/metrics`` (present in CI; tests using it
skip without it). The conformance tests record, per place and reference source, how many records
they checked and how many were within tolerance; :func:`pytest_terminal_summary` prints that at the
end of the run, one line per place.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the counters and helpers live in a uniquely named module: several conftest.py files exist under
# tests/, so ``from conftest import ...`` would resolve to whichever was imported first
from metric_helpers import (  # noqa: E402
    CONFORMANCE_CHECKED,
    CONFORMANCE_PASSED,
    CONFORMANCE_PLACES,
    IN_REPO_FIXTURES,
    read_fixture_image,
)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not CONFORMANCE_CHECKED:
        return
    for place, label in CONFORMANCE_PLACES.items():
        checked = {src: n for (p, src), n in CONFORMANCE_CHECKED.items() if p == place}
        if not checked:
            terminalreporter.write_sep("-", f"metrics conformance, {label}: not checked "
                                            f"(absent or deselected)")
            continue
        total = sum(checked.values())
        ok = sum(CONFORMANCE_PASSED[(place, src)] for src in checked)
        per = ", ".join(f"{src} {CONFORMANCE_PASSED[(place, src)]}/{n}"
                        for src, n in sorted(checked.items()))
        terminalreporter.write_sep(
            "-", f"metrics conformance, {label}: {total} reference records checked, {ok} within "
                 f"tolerance ({per})")
    conformance = sys.modules.get("test_conformance")  # home of the tolerances
    if conformance is not None:
        terminalreporter.write_line(f"conformance tolerances: {conformance.TOLERANCE_SUMMARY}")


@pytest.fixture(scope="session")
def in_repo_fixtures_dir() -> Path:
    return IN_REPO_FIXTURES


@pytest.fixture(scope="session")
def read_image():
    """``read_image(name)``: an image of the in-repository fixture subset (always present)."""
    return lambda name: read_fixture_image(IN_REPO_FIXTURES, name)


@pytest.fixture(scope="session", params=list(CONFORMANCE_PLACES))
def fixture_place(request) -> tuple[str, Path]:
    """(place, folder) of each fixture set: the in-repository subset, then ``../shared``'s full
    set (skipped, with the usual message, when ../shared is absent)."""
    if request.param == "tests":
        return "tests", IN_REPO_FIXTURES
    return "shared", request.getfixturevalue("metric_fixtures_dir")
