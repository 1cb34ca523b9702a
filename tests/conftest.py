"""Fixtures shared by the tests of helpers/."""
import pytest


@pytest.fixture
def torch_cache(tmp_path, monkeypatch):
    """A private data cache (nothing touches data/, tests share no files) and one torch thread.

    One thread: the tests' tiny batches gain nothing from two, and on a shared 2-core machine two
    OpenMP threads that wait for a busy core make small steps 10-100x slower."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BOOK_DEVICE", raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
