"""RED tests use tiny tensors: one intra-op thread is as fast and does not oversubscribe shared CPUs."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
