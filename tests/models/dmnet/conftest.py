"""DMNet tests run the tiny variant on small tensors, where intra-op threads only add overhead (and
stall badly on a shared machine): use one thread for these tests, restoring the setting afterwards."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
