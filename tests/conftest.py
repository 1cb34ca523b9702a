"""Fixtures shared by the tests of helpers/."""
import socket

import pytest

from offline_guard import _REAL_CONNECT, _REAL_CONNECT_EX, _guarded


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs offline: a socket to anything but this machine fails (tests/test_offline.py
    checks that this fixture holds). nbval's kernels and the book builds run in CI inside a
    network namespace with no route out (.ci/run), which covers the notebooks too."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_REAL_CONNECT))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_REAL_CONNECT_EX))
    yield


@pytest.fixture
def torch_cache(tmp_path, monkeypatch):
    """A private data cache (nothing touches data/, tests share no files) and one torch thread.

    One thread: the tests' tiny batches gain nothing from two, and on a shared 2-core machine two
    OpenMP threads that wait for a busy core make small steps 10-100x slower. BOOK_DEVICE is left
    as it is: on a GPU machine the torch tests run on the GPU."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
