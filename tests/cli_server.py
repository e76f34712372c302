"""`alongside serve` exactly as an operator runs it: the real CLI in a subprocess, with
its flags, its environment, and what it prints kept (stdout: the links; stderr: the logs).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools import processes
from devtools.ports import free_port
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parent.parent
LAST_DEMO_LINE = "clinician (later couples session):"


@dataclass
class CliServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """Every stderr line, parsed (a line that is not JSON fails the caller's test)."""
        return [json.loads(line) for line in self.err().splitlines() if line.strip()]

    def links(self) -> dict[str, str]:
        """The printed demo links by whom they are for (``clinician``, ``partner invite``, ...)."""
        found: dict[str, str] = {}
        for line in self.out().splitlines():
            who, sep, link = line.partition(": ")
            if sep and link.startswith("http"):
                found[who] = link
        return found

    def stop(self) -> None:
        """SIGTERM: drain and exit, as Ctrl-C or `docker compose stop` does."""
        processes.stop(self.process, grace=20)


def serve(directory: Path, *args: str, env: dict[str, str] | None = None,
          port: int | None = None, name: str = "server") -> CliServer:
    """Start ``alongside serve *args`` with its files in ``directory`` and wait until it
    answers (and, with ``--demo``/``--reset-demo``, until it has printed its links).

    ``port``: where it listens; passed as ``ALONGSIDE_PORT`` unless ``args`` give ``--port``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALONGSIDE_")}
    environ = {**base, "ALONGSIDE_JWT_SECRET": SECRET, "ALONGSIDE_VAR_DIR": str(directory),
               "ALONGSIDE_STORE": f"sqlite:///{directory}/alongside.db",
               "ALONGSIDE_LOG_LEVEL": "INFO", "ALONGSIDE_DRAIN_SECONDS": "2",
               **({} if "--port" in args else {"ALONGSIDE_PORT": str(port)}), **(env or {})}
    stdout, stderr = directory / f"{name}.out", directory / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = processes.start([sys.executable, "-m", "server.cli", "serve", *args],
                                  env=environ, cwd=ROOT, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=err)
    server = CliServer(f"http://127.0.0.1:{port}", port, process, stdout, stderr)
    demo = "--demo" in args or "--reset-demo" in args
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"alongside serve exited ({process.returncode}):\n{server.err()}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(server.url + "/healthz", timeout=1):
                if not demo or LAST_DEMO_LINE in server.out():
                    return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"alongside serve did not start:\n{server.err()}")
