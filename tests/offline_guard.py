"""The socket guard of the unit tests: only this machine can be reached (see conftest.no_network)."""
import ipaddress
import socket

_REAL_CONNECT = socket.socket.connect
_REAL_CONNECT_EX = socket.socket.connect_ex


def _is_local(address) -> bool:
    """AF_UNIX paths and loopback addresses are local; everything else is the network."""
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:  # a host name other than localhost
        return False


class NetworkBlocked(OSError):
    """A test tried to reach the network: the book must work offline."""


def _guarded(real):
    def connect(self, address):
        if not _is_local(address):
            raise NetworkBlocked(f"offline book: a test tried to connect to {address!r}; nothing may be "
                                 "downloaded at run time (generate the data or read a file the test writes)")
        return real(self, address)
    return connect
