"""A private Janus (Debian's ``janus`` 1.1.2) on a generated config, started and stopped here.

Never the packaged service or ``/etc/janus``: :class:`JanusServer` writes its own
``janus.jcfg``, ``janus.plugin.videoroom.jcfg`` and ``janus.transport.websockets.jcfg`` into a
directory of its own and runs ``janus -C <dir>/janus.jcfg -F <dir>`` in the foreground. What
the config does, and why:

* only the VideoRoom plugin and the WebSocket transport load (every other library in the
  plugin, transport, logger and event-handler folders is listed under ``disable``);
* the WebSocket API listens on 127.0.0.1 only, on a free port; the Admin API is off, and there
  is no ``admin_secret`` (the sample's ``janusoverlord`` is gone), no sample room (the sample's
  ``room-1234`` with secret ``adminpwd`` is gone);
* every request needs ``api_secret``; rooms can only be created with the plugin's
  ``admin_key``; room ids are strings (``string_ids``), so Alongside can use random ones;
* RTP uses a fixed port range; ``full_trickle`` stays off (ICE failures past six or seven
  publishers are reported upstream with it on, meetecho/janus-gateway#2425).

The compose file's ``janus`` service runs the same config through ``python -m devtools.janus
serve`` (see :func:`main` and docs/deploy.md), listening on its container's network instead of
loopback.

Caveat: the port is chosen with :func:`~devtools.ports.free_port` before Janus binds it, so
another process could take it first (see that module).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools import processes
from devtools.ports import free_port, port_open

JANUS = shutil.which("janus") or "/usr/bin/janus"
LIB_DIR = Path("/usr/lib/x86_64-linux-gnu/janus")
START_TIMEOUT = 20.0
VIDEOROOM = "libjanus_videoroom.so"
WEBSOCKETS = "libjanus_websockets.so"
# What Janus prints once the VideoRoom plugin and the WebSocket server are up.
READY_LINES = ("JANUS VideoRoom plugin initialized!", "Websockets server started")


def installed() -> bool:
    return os.access(JANUS, os.X_OK) and (LIB_DIR / "plugins" / VIDEOROOM).exists()


def _libraries(folder: Path, keep: frozenset[str] = frozenset()) -> list[str]:
    """Every Janus library in ``folder`` but ``keep`` (what the ``disable`` lists name)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.glob("libjanus_*.so") if p.name not in keep)


def _quoted(value: str) -> str:
    if '"' in value or "\\" in value:
        raise ValueError("config values must not contain quotes or backslashes")
    return f'"{value}"'


@dataclass
class JanusConfig:
    """What the generated config says; the secrets are random unless given."""

    ws_port: int = field(default_factory=free_port)
    api_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    admin_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # None: a range of 200 picked from the WebSocket port, so two test servers rarely share one.
    rtp_ports: tuple[int, int] | None = None
    debug_level: int = 4
    lib_dir: Path = LIB_DIR
    # Where the WebSocket API listens: loopback, unless in a container whose port is not
    # published (compose). nat_1_1: the public address to put in candidates behind NAT.
    ws_ip: str = "127.0.0.1"
    nat_1_1: str = ""
    # Janus destroys a session that sends nothing for this long (Alongside keeps it alive).
    session_timeout: int = 60

    @property
    def url(self) -> str:
        return f"ws://{self.ws_ip}:{self.ws_port}"

    def core(self, configs_folder: Path) -> str:
        lib = self.lib_dir
        disable = {
            "plugins": _libraries(lib / "plugins", frozenset({VIDEOROOM})),
            "transports": _libraries(lib / "transports", frozenset({WEBSOCKETS})),
            "loggers": _libraries(lib / "loggers"),
            "events": _libraries(lib / "events"),
        }
        sections = "\n".join(
            f"{name}: {{\n" + (f"\tdisable = {_quoted(','.join(libs))}\n" if libs else "")
            + ("\tbroadcast = false\n" if name == "events" else "") + "}"
            for name, libs in disable.items())
        nat = f"\tnat_1_1_mapping = {_quoted(self.nat_1_1)}\n" if self.nat_1_1 else ""
        low, high = self.rtp_ports or (20000 + (self.ws_port % 100) * 200,
                                       20000 + (self.ws_port % 100) * 200 + 199)
        return f"""general: {{
\tconfigs_folder = {_quoted(str(configs_folder))}
\tplugins_folder = {_quoted(str(lib / "plugins"))}
\ttransports_folder = {_quoted(str(lib / "transports"))}
\tevents_folder = {_quoted(str(lib / "events"))}
\tloggers_folder = {_quoted(str(lib / "loggers"))}
\tdebug_level = {self.debug_level}
\tdebug_colors = false
\tserver_name = "alongside-janus"
\tapi_secret = {_quoted(self.api_secret)}
\tsession_timeout = {self.session_timeout}
\treclaim_session_timeout = 0
}}
certificates: {{
}}
media: {{
\trtp_port_range = "{low}-{high}"
}}
nat: {{
\tnice_debug = false
\tfull_trickle = false
\tice_ignore_list = "vmnet"
{nat}}}
{sections}
"""

    def videoroom(self) -> str:
        # No rooms here: Alongside creates each one with its own secret, pin and tokens.
        return f"""general: {{
\tadmin_key = {_quoted(self.admin_key)}
\tlock_rtp_forward = true
\tstring_ids = true
\tevents = false
}}
"""

    def websockets(self) -> str:
        return f"""general: {{
\tjson = "plain"
\tws = true
\tws_port = {self.ws_port}
\tws_ip = {_quoted(self.ws_ip)}
\twss = false
}}
admin: {{
\tadmin_ws = false
\tadmin_wss = false
}}
"""

    def write(self, directory: Path) -> Path:
        """Write the three files into ``directory``; returns the core config's path."""
        directory.mkdir(parents=True, exist_ok=True)
        core = directory / "janus.jcfg"
        files = {core: self.core(directory),
                 directory / "janus.plugin.videoroom.jcfg": self.videoroom(),
                 directory / "janus.transport.websockets.jcfg": self.websockets()}
        for path, text in files.items():
            path.write_text(text)
            path.chmod(0o600)  # the secrets are in them
        return core


class JanusServer:
    """One ``janus`` process on a generated config in ``directory`` (a temporary one when
    none is given, removed on :meth:`close`); its log is ``directory/janus.log``."""

    def __init__(self, config: JanusConfig | None = None, directory: Path | None = None,
                 start_timeout: float = START_TIMEOUT) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="alongside-janus-")
            directory = Path(self._tmp.name)
        self.directory = directory
        self.config = config or JanusConfig()
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "janus.log"

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start it and wait until the VideoRoom plugin and the WebSocket API are up
        (raises with the log's tail if it exits or takes too long)."""
        if self.running:
            raise RuntimeError("janus is already running")
        if not installed():
            raise RuntimeError("janus is not installed (scripts/setup.sh --test installs it)")
        core = self.config.write(self.directory)
        # Polled as it is written: the log tells when the plugin and the transport are up.
        with self.log.open("wb") as log:
            self.process = processes.start(
                [JANUS, "-C", str(core), "-F", str(self.directory), "--disable-colors"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"janus exited ({self.process.returncode}): "
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"janus did not start: {self.log_tail()}")
            time.sleep(0.05)

    def _ready(self) -> bool:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return False
        return all(line in text for line in READY_LINES) and port_open(self.config.ws_port)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 10 seconds."""
        if self.process is not None:
            processes.stop(self.process, grace=10.0)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: gone at once, as in a crash."""
        if self.process is not None:
            processes.kill(self.process)
        self.process = None

    def close(self) -> None:
        """Stop it and remove its directory if it was a temporary one."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> JanusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m devtools.janus serve``: write the config and become ``janus`` (exec).

    The secrets come from ``JANUS_API_SECRET`` and ``JANUS_ADMIN_KEY`` (never the command
    line, which ``ps`` shows); both must be set.
    """
    parser = argparse.ArgumentParser(prog="python -m devtools.janus")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--config-dir", type=Path, default=Path("/tmp/alongside-janus"))
    parser.add_argument("--ws-ip", default="127.0.0.1")
    parser.add_argument("--ws-port", type=int, default=8188)
    parser.add_argument("--rtp", default="20000-20199", help="RTP port range, MIN-MAX")
    parser.add_argument("--nat-1-1", default="", help="public IP for candidates behind NAT")
    args = parser.parse_args(argv)
    api_secret = os.environ.get("JANUS_API_SECRET", "")
    admin_key = os.environ.get("JANUS_ADMIN_KEY", "")
    if len(api_secret) < 16 or len(admin_key) < 16:
        raise SystemExit("set JANUS_API_SECRET and JANUS_ADMIN_KEY (16 characters or more)")
    low, high = (int(p) for p in args.rtp.split("-", 1))
    config = JanusConfig(ws_port=args.ws_port, api_secret=api_secret, admin_key=admin_key,
                         rtp_ports=(low, high), ws_ip=args.ws_ip, nat_1_1=args.nat_1_1)
    core = config.write(args.config_dir)
    os.execv(JANUS, [JANUS, "-C", str(core), "-F", str(args.config_dir), "--disable-colors"])


if __name__ == "__main__":
    main()
