import pytest
import torch as th


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """CI has 2 cores and pytest-xdist runs 2 workers: one intra-op thread each avoids oversubscription."""
    th.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """
    Run the learning checks (marked ``slow(seconds=...)``, minutes each) first, the longest first: pytest-xdist
    hands the first tests out to its workers in turn, so the two workers share them, instead of one running two
    long checks at the end while the other has nothing left to do. ``seconds`` is their rough duration on a
    2-core CI machine, used only for this order.
    """

    def expected_seconds(item) -> float:
        marker = item.get_closest_marker("slow")
        return 0.0 if marker is None else float(marker.kwargs.get("seconds", 60))

    items.sort(key=expected_seconds, reverse=True)
