"""A private ``redis-server`` on a free loopback port, which a test may kill and bring back.

Never the system Redis on 6379. Its data and log live in ``directory`` (a temporary one
when none is given, removed on :meth:`RedisServer.close`). The default flags keep no RDB
snapshots and write an append-only file fsynced on every write, so :meth:`restart` (same
port, same directory) brings back everything it acknowledged, even after :meth:`kill`;
:data:`MEMORY_ONLY` keeps nothing (the bench). Caveat: the port is chosen once, at
construction, and kept across restarts: another process could take it while Redis is down.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from devtools import processes
from devtools.ports import free_port, wait_port_free

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 10.0
DURABLE = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")
MEMORY_ONLY = ("--save", "", "--appendonly", "no")


def installed() -> bool:
    return os.access(REDIS_SERVER, os.X_OK)


def answers_ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis on ``port`` replies ``+PONG`` (not ``-LOADING``, not silence)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on ``port`` with its data in ``directory``.

    ``flags`` come first on the command line; where it listens and writes (port, bind
    address, directory, log) come after them, and Redis lets later flags win.
    """

    def __init__(self, directory: Path | None = None, port: int | None = None,
                 flags: Sequence[str] = DURABLE, start_timeout: float = START_TIMEOUT) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="alongside-redis-")
            directory = Path(self._tmp.name)
        self.directory = directory
        self.port = port or free_port()
        self.flags = list(flags)
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start it and wait until it answers PING (raises with its log's tail if not)."""
        if self.running:
            raise RuntimeError("redis-server is already running")
        if not installed():
            raise RuntimeError("redis-server is not installed (scripts/setup.sh --test "
                               "installs it)")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [REDIS_SERVER, *self.flags, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--logfile", str(self.log),
                "--daemonize", "no", "--protected-mode", "yes"]
        self.process = processes.start(args, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while not answers_ping(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): "
                                   f"{self._log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not answer PING: {self._log_tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync (``appendfsync always`` already did it)."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 10 seconds."""
        self._end(signal.SIGTERM)

    def restart(self, *, hard: bool = False) -> None:
        """Stop (``hard``: SIGKILL) if running, then start on the same port and directory."""
        (self.kill if hard else self.stop)()
        self.start()

    def close(self) -> None:
        """Kill it and remove its directory if it was a temporary one."""
        self.kill()
        if self._tmp is not None:
            self._tmp.cleanup()

    def config(self, name: str) -> str:
        """One ``CONFIG GET`` value, asked over a raw socket."""
        with socket.create_connection(("127.0.0.1", self.port), 2) as s:
            s.sendall(f"CONFIG GET {name}\r\n".encode())
            reply = s.recv(4096).decode().split("\r\n")
        return reply[4] if len(reply) > 4 else ""

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _end(self, sig: int) -> None:
        if self.process is not None:
            processes.stop(self.process, grace=10.0, sig=sig)
        self.process = None
        wait_port_free(self.port)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"
