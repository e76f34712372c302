"""A real coturn (Debian's turnserver) on loopback, started and stopped by the tests.

Production denies relaying to loopback and private addresses; the tests must
relay between two peers on 127.0.0.1, so this fixture alone adds
``--allow-loopback-peers`` (see docs/media.md).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools import processes
from devtools.ports import free_port

TURN_SECRET = "coturn-test-secret"


@dataclass
class Coturn:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def stop(self) -> None:
        processes.stop(self.process, grace=5)


def start_coturn(tmp: Path) -> Coturn:
    binary = shutil.which("turnserver")
    assert binary, "coturn is missing: make test installs the Debian package"
    port = free_port()
    low = 40000 + (port % 200) * 100
    process = processes.start(
        [binary, "-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
         "--listening-port", str(port), "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}",
         "--realm", "alongside", "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls",
         "--no-multicast-peers", "--min-port", str(low), "--max-port", str(low + 99),
         "--pidfile", str(tmp / "turnserver.pid"), "--log-file", str(tmp / "turn.log"),
         "--simple-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    coturn = Coturn(port, process)
    time.sleep(0.3)
    if process.poll() is not None:
        raise RuntimeError("turnserver exited at start-up")
    return coturn


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    server = start_coturn(tmp_path)
    yield server
    server.stop()
