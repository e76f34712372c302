"""Free loopback ports, and waiting for one to open or to close.

Caveat: :func:`free_port` asks the kernel for a port and closes the socket again, so
another process may take it before the caller binds it. Good enough on a developer's box
and in CI, where nothing else races for ports; a test that must not flake on it binds the
port itself.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from typing import Any

# The system Redis, if one is running: never hand it out (a test must not talk to it).
_NEVER = {6379}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (never 6379)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _NEVER:
            return port


def port_open(port: int, timeout: float = 0.3) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout):
        return True
    return False


def wait_listening(port: int, proc: subprocess.Popen[Any] | None = None,
                   timeout: float = 30.0, what: str = "server") -> None:
    """Until ``port`` accepts connections; raises if ``proc`` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        if port_open(port, 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def wait_port_free(port: int, timeout: float = 5.0) -> bool:
    """Until 127.0.0.1:``port`` can be bound again (a stopped server released it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(socket.socket()) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                time.sleep(0.02)
    return False
