"""Shared pytest fixtures: location of ``../shared`` (reference specs, fixtures, mini datasets)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IVIF_SHARED", REPO_ROOT.parent / "shared"))


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} not found at {path}: these tests need ../shared beside the checkout "
                    f"(or IVIF_SHARED=<dir>); in CI it is present")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(SHARED, "shared reference material")


@pytest.fixture(scope="session")
def metric_fixtures_dir() -> Path:
    return _require(SHARED / "fixtures" / "metrics", "metric fixtures")


@pytest.fixture(scope="session")
def shared_datasets_dir() -> Path:
    return _require(SHARED / "datasets", "mini datasets")


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch intra-op thread (tiny tensors: more threads only add overhead and
    stall on shared CPUs); the previous setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
