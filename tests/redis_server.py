"""A real, private ``redis-server`` per test, which a test may kill and bring back.

Registered for every test module by tests/conftest.py (``pytest_plugins``); use the
``redis_server`` fixture. The server listens on 127.0.0.1 on a free port (never the
system Redis on 6379), keeps no RDB snapshots, and writes an append-only file
fsynced on every write into its own directory, so ``restart()`` (same port, same
directory) brings back everything it acknowledged, even after ``kill()``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 10.0


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != 6379:
            return port


def answers_ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis on ``port`` replies ``+PONG`` (not ``-LOADING``, not silence)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on ``port`` with its data in ``directory``."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError("redis-server is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                "--dir", str(self.directory), "--logfile", str(self.log),
                "--daemonize", "no", "--protected-mode", "yes"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not answers_ping(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): "
                                   f"{self._log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not answer PING: {self._log_tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync (appendfsync always already did it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        self._wait_port_free()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 10 seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self._wait_port_free()

    def restart(self, *, hard: bool = False) -> None:
        """Stop (``hard``: SIGKILL) if running, then start on the same port and directory."""
        (self.kill if hard else self.stop)()
        self.start()

    def _wait_port_free(self) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.closing(socket.socket()) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", self.port))
                    return
                except OSError:
                    time.sleep(0.02)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A fresh, empty ``redis-server`` for one test; killed after it.

    Note: fails (rather than skips) without ``redis-server``; ``scripts/setup.sh --test``
    installs it.
    """
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.fail("redis-server is not installed (scripts/setup.sh --test installs it)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()
