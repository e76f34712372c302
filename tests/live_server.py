"""The real server as a separate process (`alongside serve`), for tests whose client is blocking."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devtools import processes
from devtools.ports import free_port
from tests.conftest import SECRET


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        processes.stop(self.process, grace=10)


def start(tmp: Path, **env: str) -> LiveServer:
    port = free_port()
    environ = {**os.environ, "ALONGSIDE_JWT_SECRET": SECRET, "ALONGSIDE_PORT": str(port),
               "ALONGSIDE_VAR_DIR": str(tmp), "ALONGSIDE_STORE": f"sqlite:///{tmp}/live.db",
               "ALONGSIDE_LOG_LEVEL": "WARNING", **env}
    process = processes.start([sys.executable, "-m", "server.cli", "serve"], env=environ,
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
    processes.kill(process)
    raise RuntimeError("the server did not start")
