"""The book works offline: the unit tests cannot reach the network (tests/conftest.py)."""
import socket
import urllib.request

import pytest

from offline_guard import NetworkBlocked, _is_local


def test_a_download_fails_in_tests():
    with pytest.raises(OSError, match="offline book"):
        urllib.request.urlopen("http://192.0.2.1/weights.pth", timeout=2)  # TEST-NET-1, never routed
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("198.51.100.7", 443), timeout=2)


def test_localhost_still_works():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()


@pytest.mark.parametrize("address, local", [
    (("127.0.0.1", 80), True), (("::1", 80, 0, 0), True), (("localhost", 8000), True), ("/tmp/kernel.sock", True),
    (("10.0.0.1", 80), False), (("8.8.8.8", 53), False), (("example.org", 443), False), (("::ffff:1.2.3.4", 1), False),
])
def test_what_counts_as_local(address, local):
    assert _is_local(address) is local
