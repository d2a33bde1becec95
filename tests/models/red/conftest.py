"""RED tests use tiny tensors: one intra-op thread is as fast and does not oversubscribe shared CPUs."""
import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    yield
