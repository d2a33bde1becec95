"""DMNet tests run the tiny variant on small tensors, where intra-op threads only add overhead (and
stall badly on a shared machine): use one thread for these tests, restoring the setting afterwards."""
import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    yield
