"""The real server as a separate process (`alongside serve`), for tests whose client is blocking."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SECRET, free_port


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(tmp: Path, **env: str) -> LiveServer:
    port = free_port()
    environ = {**os.environ, "ALONGSIDE_JWT_SECRET": SECRET, "ALONGSIDE_PORT": str(port),
               "ALONGSIDE_VAR_DIR": str(tmp), "ALONGSIDE_STORE": f"sqlite:///{tmp}/live.db",
               "ALONGSIDE_LOG_LEVEL": "WARNING", **env}
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=environ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=Path(__file__).resolve().parent.parent)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return LiveServer(url, process)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the server exited at start-up") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")
