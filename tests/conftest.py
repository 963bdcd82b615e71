import pytest
import torch as th


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """CI has 2 cores and pytest-xdist runs 2 workers: one intra-op thread each avoids oversubscription."""
    th.set_num_threads(1)
