"""The docker-compose topology, started natively: Redis, two app replicas, nginx, coturn.

No Docker engine runs here, so :func:`start_topology` reads ``docker-compose.yml`` and
``deploy/nginx.conf`` and starts the same services as local processes on free loopback ports:

* ``redis`` -> Debian's ``redis-server`` with the compose command's flags (append-only file,
  ``appendfsync always``), its data in a temporary directory;
* ``app1``/``app2`` -> ``alongside serve`` with the compose environment of each service; only
  addresses are adapted to loopback (store URL, host, port, public URL, origins, TURN URL), plus
  short timings for tests (grace, sweep, drain);
* ``nginx`` -> Debian's nginx as a foreground process on ``deploy/nginx.conf``, with the listen
  port, the ``server appN:8080`` addresses and the log/pid/temp paths substituted (each
  substitution must match exactly once, so the file cannot drift from what is tested);
* ``coturn`` -> Debian's ``turnserver`` with the compose command, ports and log adapted.

A replica's Redis connection can go through a :class:`TcpProxy` that a test can cut, to
partition that replica from Redis while the rest of the cluster still reaches it. A
:class:`Cluster` is a running topology with its store, its people and REST, as the cluster
tests (tests/test_cluster.py, tests/test_rolling_restart.py) drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
import yaml
from aiohttp import ClientSession

from devtools import processes
from devtools.ports import free_port, port_open
from devtools.redis import RedisServer
from server.domain.room import Room
from server.settings import Settings
from server.store.redis import RedisStore
from server.store.rooms import Rooms
from tests.conftest import SECRET, Harness
from tests.lifecycle import PROGRAM, Api, secret_of

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
APPS = ("app1", "app2")
START_TIMEOUT = 30.0
TURN_SECRET = "cluster-turn-secret"

# What the compose file's ${VARS} come from (its .env in a real deployment).
DOTENV = {"JWT_SECRET": SECRET, "TURN_SECRET": TURN_SECRET, "LOG_KEY": "cluster-log-key",
          "METRICS_TOKEN": "cluster-metrics-token-" + "m" * 16}

# Short timings for tests; everything else is the compose file's.
TEST_ENV = {
    "ALONGSIDE_GRACE_SECONDS": "5",
    "ALONGSIDE_SWEEP_SECONDS": "0.5",
    "ALONGSIDE_DRAIN_SECONDS": "3",
    # Longer than a replica can lag another in resubscribing after a Redis outage (2 s).
    "ALONGSIDE_STEP_ASIDE_SECONDS": "5",
    "ALONGSIDE_LOG_LEVEL": "INFO",
}


# -- the compose file ------------------------------------------------------------------------
def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    with path.open() as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict) and "services" in data, f"{path} is not a compose file"
    return data


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if env.get(name):
            return env[name]
        if op and op.endswith("-"):
            return arg
        if op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return ""
    return _VAR.sub(one, value)


def service(compose: Mapping[str, Any], name: str) -> dict[str, Any]:
    services = compose["services"]
    assert name in services, f"docker-compose.yml has no {name!r} service"
    return dict(services[name])


def service_env(compose: Mapping[str, Any], name: str,
                dotenv: Mapping[str, str] = DOTENV) -> dict[str, str]:
    raw = service(compose, name).get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): interpolate(str(v), dotenv) for k, v in raw.items()}


def service_command(compose: Mapping[str, Any], name: str,
                    dotenv: Mapping[str, str] = DOTENV) -> list[str]:
    command = service(compose, name).get("command") or []
    if isinstance(command, str):
        command = command.split()
    return [interpolate(str(c), dotenv) for c in command]


# -- processes ---------------------------------------------------------------------------------
def route_for(room_id: str) -> str:
    """The browser SDK's ``routeFor``: FNV-1a (32-bit, hex) of the room id, sent as ``r``."""
    h = 0x811C9DC5
    for byte in room_id.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def http_status(url: str, timeout: float = 3.0) -> int:
    """The HTTP status of a GET (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait(what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes] | None,
          log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {timeout} s:\n{_tail(log)}")
        time.sleep(0.05)


def _end(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL) -> None:
    if process is not None:
        processes.stop(process, grace=10, sig=sig)


class Redis(RedisServer):
    """``redis-server`` with the compose service's flags, on a free loopback port."""

    def __init__(self, compose: Mapping[str, Any], directory: Path) -> None:
        command = service_command(compose, "redis")
        assert command and command[0] == "redis-server", command
        # The compose flags first; then where to listen and write (later flags win).
        super().__init__(directory, flags=command[1:], start_timeout=START_TIMEOUT)


@dataclass
class Node:
    """One ``alongside serve`` replica with its compose service's environment."""

    name: str
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        out = self.log.open("ab")
        self.process = processes.start(
            [sys.executable, "-m", "server.cli", "serve"], env=self.env, cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()

    def wait_ready(self) -> None:
        _wait(f"alongside serve ({self.name})",
              lambda: http_status(self.url + "/healthz", 1) == 200, self.process, self.log)

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye; the node's heartbeat simply stops."""
        _end(self.process, signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: the server drains (ALONGSIDE_DRAIN_SECONDS) and exits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def lines(self, event: str) -> list[str]:
        """Log lines of one ``log_event`` name (the logs are JSON, one event a line)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if f'"{event}"' in line]


class Nginx:
    """Debian's nginx in the foreground on ``deploy/nginx.conf``, with loopback addresses."""

    def __init__(self, directory: Path, upstreams: Mapping[str, int]) -> None:
        self.directory = directory
        self.port = free_port()
        self.upstreams = dict(upstreams)
        self.log = directory / "nginx.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render(self, text: str) -> str:
        d = self.directory

        def once(pattern: str, replacement: str, s: str) -> str:
            out, n = re.subn(pattern, lambda _m: replacement, s, flags=re.M)
            assert n == 1, f"deploy/nginx.conf: expected one match of {pattern!r}, found {n}"
            return out

        text = once(r"^(\s*)listen\s+8080;", f"    listen 127.0.0.1:{self.port};", text)
        for name, port in self.upstreams.items():
            text = once(rf"\bserver\s+{name}:8080\b", f"server 127.0.0.1:{port}", text)
        text = once(r"^\s*access_log\s+/dev/stdout\b", f"    access_log {d}/access.log", text)
        text = once(r"^\s*error_log\s+/dev/stderr\b", f"    error_log {d}/error.log", text)
        temp = "".join(f"    {kind}_temp_path {d}/{kind}_temp;\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return once(r"^http\s*\{\n", "http {\n" + temp, text)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(self.render(NGINX_CONF.read_text()))
        # `-g`: what docker's nginx image gives on its command line (daemon off), and a pid file
        # of our own; `-e`: the start-up error log (before the configuration is read).
        args = [NGINX, "-p", str(self.directory), "-c", str(conf), "-e", str(self.log),
                "-g", f"daemon off; pid {self.directory}/nginx.pid;"]
        out = self.log.open("ab")
        self.process = processes.start(args, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT)
        out.close()
        _wait("nginx", lambda: port_open(self.port), self.process, self.log)

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM)

    def upstream_of(self, path: str) -> list[str]:
        """The upstream addresses nginx logged for requests to ``path``."""
        lines = (self.directory / "access.log").read_text(errors="replace").splitlines()
        return [line.rsplit('"', 2)[-2] for line in lines if f' {path}" ' in line]


class Coturn:
    """``turnserver`` with the compose command; only ports, address and log are adapted."""

    def __init__(self, compose: Mapping[str, Any], directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.log = directory / "turn.log"
        low = 20000 + (self.port % 200) * 100
        adapt = {"--listening-port": str(self.port), "--min-port": str(low),
                 "--max-port": str(low + 99), "--log-file": str(self.log)}
        args: list[str] = []
        for arg in service_command(compose, "coturn"):
            name, eq, _ = arg.partition("=")
            args.append(f"{name}={adapt[name]}" if eq and name in adapt else arg)
        self.args = [TURNSERVER, *args, "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                     f"--pidfile={directory}/turn.pid", "--no-stdout-log"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = processes.start(self.args, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM)


class TcpProxy:
    """A TCP forwarder on its own thread and event loop, which a test can cut and mend.

    ``cut()`` closes every forwarded connection and refuses new ones (a partition that the
    node notices at once: connection reset / refused), until ``mend()``. ``cut(silent=True)``
    drops packets instead: connections stay open and nothing comes back (the node only
    notices through its timeouts).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.silent = False

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.silent:  # hold the connection, answer nothing
            self._writers.add(writer)
            with contextlib.suppress(OSError):
                while await reader.read(65536):
                    pass
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    if self.silent:
                        continue
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def cut(self, silent: bool = False) -> None:
        if silent:
            self.silent = True
        else:
            self._call(self._cut())

    def mend(self) -> None:
        if self.silent:
            self.silent = False
        else:
            self._call(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@dataclass
class Topology:
    """The compose services as processes; ``nodes`` by compose service name."""

    compose: dict[str, Any]
    directory: Path
    redis: Redis
    nodes: dict[str, Node]
    nginx: Nginx
    coturn: Coturn
    proxy: TcpProxy | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where people connect: nginx."""
        return self.nginx.url

    def stop(self) -> None:
        self.nginx.stop()
        for node in self.nodes.values():
            node.kill()
        self.coturn.stop()
        if self.proxy is not None:
            self.proxy.close()
        self.redis.kill()


def node_env(compose: Mapping[str, Any], name: str, *, ports: Mapping[str, int], store: str,
             public: str, var_dir: Path, turn_url: str,
             extra: Mapping[str, str]) -> dict[str, str]:
    """The compose environment of ``name`` with addresses adapted to this machine (``ports``:
    each replica's port here)."""
    env = service_env(compose, name)
    port = ports[name]
    assert env.get("ALONGSIDE_NODE_ID") == name, f"{name}: ALONGSIDE_NODE_ID should be {name}"
    assert env.get("ALONGSIDE_STORE", "").startswith("redis://"), f"{name}: not on Redis"
    # Each replica names every other one as a peer, by its compose service name.
    peers = [urllib.parse.urlsplit(u) for u in env.get("ALONGSIDE_PEERS", "").split(",") if u]
    assert sorted(p.hostname or "" for p in peers) == sorted(set(ports) - {name}), \
        f"{name}: ALONGSIDE_PEERS should name the other replicas"
    env["ALONGSIDE_PEERS"] = ",".join(f"http://127.0.0.1:{ports[p.hostname or '']}"
                                      for p in peers)
    env.update({
        "ALONGSIDE_STORE": store,
        "ALONGSIDE_HOST": "127.0.0.1",
        "ALONGSIDE_PORT": str(port),
        "ALONGSIDE_PUBLIC_URL": public,
        "ALONGSIDE_ALLOWED_ORIGINS": public,
        "ALONGSIDE_TURN_URLS": turn_url,
        "ALONGSIDE_VAR_DIR": str(var_dir),
        **TEST_ENV,
        **extra,
    })
    # The compose environment replaces the container's; here it goes on top of ours (PATH, ...),
    # minus anything ALONGSIDE_* the test runner happens to have.
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALONGSIDE_")}
    return {**base, **env}


def start_topology(directory: Path, *, proxied: tuple[str, ...] = (),
                   extra_env: Mapping[str, str] | None = None) -> Topology:
    """Start redis, coturn, both replicas (those in ``proxied`` reach Redis through a
    :class:`TcpProxy`) and nginx; stop everything again if any of them fails to start."""
    compose = load_compose()
    redis = Redis(compose, directory / "redis")
    coturn = Coturn(compose, directory / "coturn")
    ports = {name: free_port() for name in APPS}
    nginx = Nginx(directory / "nginx", ports)
    topology = Topology(compose, directory, redis, {}, nginx, coturn,
                        extra_env=dict(extra_env or {}))
    try:
        redis.start()
        coturn.start()
        if proxied:
            topology.proxy = TcpProxy(redis.port)
            topology.proxy.start()
        for name in APPS:
            store = redis.url if name not in proxied else \
                f"redis://127.0.0.1:{topology.proxy.port}/0"  # type: ignore[union-attr]
            (directory / name).mkdir(parents=True, exist_ok=True)
            env = node_env(compose, name, ports=ports, store=store, public=nginx.url,
                           var_dir=directory / name, turn_url=coturn.url, extra=extra_env or {})
            topology.nodes[name] = Node(name, env, ports[name], directory / name / "server.log")
        for node in topology.nodes.values():  # both import in parallel
            node.spawn()
        for node in topology.nodes.values():
            node.wait_ready()
        nginx.start()
    except BaseException:
        topology.stop()
        raise
    return topology


# -- people ------------------------------------------------------------------------------------
class Person:
    """A socket.io client that reconnects by itself and re-joins, as the browser SDK does.

    ``received`` keeps every (event, payload) in order, with ``("_connect", n)`` and
    ``("_disconnect", reason)`` markers. After ``superseded``/``ended``/``removed`` it stops
    reconnecting (the protocol's rule against two tabs taking turns).
    """

    FINAL = ("superseded", "ended", "removed")

    def __init__(self, url: str, token: str, *, reconnect: bool = True) -> None:
        self.url = url
        self.token = token
        self.received: list[tuple[str, Any]] = []
        self.joins: list[dict[str, Any]] = []
        self.wants_join = False
        self.connects = 0
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sio = socketio.AsyncClient(reconnection=reconnect, reconnection_delay=0.2,
                                        reconnection_delay_max=1, randomization_factor=0.2)

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self._note(event, data)
            if event in self.FINAL:
                self.wants_join = False
                self.sio.reconnection = False

        @self.sio.event
        async def connect() -> None:
            self.connects += 1
            self._note("_connect", self.connects)
            if self.connects > 1 and self.wants_join:
                # Not inside this handler: the ack would have to come through this same reader.
                task = asyncio.ensure_future(self._rejoin())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        @self.sio.event
        async def disconnect(reason: Any = None) -> None:
            self._note("_disconnect", str(reason))

    def _note(self, event: str, data: Any) -> None:
        self.received.append((event, data))
        self._changed.set()

    async def _rejoin(self) -> None:
        with contextlib.suppress(Exception):
            ack = await self.call("join", {})
            self.joins.append(ack)
            self._note("_rejoined", ack)

    async def connect(self, node: str | None = None) -> None:
        """Connect through ``url`` (nginx), or first straight to ``node``'s URL, as if nginx
        had sent this person there; reconnects always go through ``url``."""
        await self.sio.connect(node or self.url, auth={"token": self.token},
                               transports=["websocket"], wait_timeout=5)
        self.sio.connection_url = self.url  # python-socketio reconnects to this

    async def join(self) -> dict[str, Any]:
        ack = await self.call("join", {})
        assert ack.get("ok"), ack
        self.joins.append(ack)
        self.wants_join = True
        return ack

    async def call(self, event: str, data: Any = None, timeout: float = 5) -> dict[str, Any]:
        args = () if data is None else (data,)
        return await self.sio.call(event, *args, timeout=timeout)

    def events(self, name: str) -> list[Any]:
        return [d for e, d in self.received if e == name]

    async def wait_for(self, name: str, predicate: Callable[[Any], bool] = lambda d: True,
                       timeout: float = 5, after: int = 0) -> Any:
        """The first ``name`` event at index ``after`` or later matching ``predicate``."""
        async def scan() -> Any:
            seen = after
            while True:
                for event, data in self.received[seen:]:
                    if event == name and predicate(data):
                        return data
                seen = max(seen, len(self.received))
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            recent = [(e, d if e.startswith("_") else "...") for e, d in self.received[after:]]
            raise AssertionError(f"no {name!r} within {timeout} s; since then: {recent}") from None

    def mark(self) -> int:
        """An index into ``received``: pass it as ``after`` to wait for what comes next."""
        return len(self.received)

    async def close(self) -> None:
        self.sio.reconnection = False
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            if self.sio.connected:
                await self.sio.disconnect()
            await self.sio.shutdown()


# The people of a couples session on the topology, and what the cluster tests read of it.
ROOM = "p-c1"
IDS = {"clinician": "dr-1", "client": "cl-1", "partner": "pa-1"}


def candidate(n: int) -> dict[str, Any]:
    """A valid host candidate whose port numbers it, to check order on arrival."""
    return {"candidate": f"candidate:1 1 udp 2122260223 127.0.0.1 {50000 + n} typ host",
            "sdpMid": "0", "sdpMLineIndex": 0}


def numbered(event: dict[str, Any]) -> int:
    return int(event["candidate"]["candidate"].split()[5]) - 50000


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float,
                every: float = 0.1) -> float:
    """Poll ``check`` until it holds; returns the seconds it took (fails after ``timeout``)."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(every)
    return time.monotonic() - start


class Cluster:
    """The running topology, the shared store (read straight from Redis), people and REST."""

    def __init__(self, topology: Topology, http: ClientSession) -> None:
        self.t = topology
        self.http = http
        self.store = RedisStore(topology.redis.url)
        self.rooms = Rooms(self.store)
        self.settings = Settings(jwt_secret=SECRET)
        self.people: list[Person] = []

    def url(self, node: str | None = None) -> str:
        return self.t.nodes[node].url if node else self.t.url

    def api(self, node: str | None = None) -> Api:
        harness = Harness(url=self.url(node), settings=self.settings, store=self.store)
        return Api(harness, self.http)

    def token(self, role: str, room: str = ROOM, **extra: Any) -> str:
        return self.api().h.token(role, sub=IDS[role], program=PROGRAM, room=room, **extra)

    async def couples(self) -> dict[str, str]:
        """Program, sessions, the client's agreement, an invite and the partner's consent,
        through nginx; the three people's tokens for the couples room."""
        api = self.api()
        t = await api.setup_program()
        await api.step(t["client"], "agree")
        secret = secret_of((await api.invite(self.token("clinician", "p-ind")))["url"])
        consent = await api.respond(secret, "consent", expect=200, name="Alex")
        assert consent["room"] == ROOM
        return {"clinician": self.token("clinician"), "client": self.token("client"),
                "partner": consent["token"]}

    async def person(self, token: str, node: str | None = None, *, join: bool = True,
                     reconnect: bool = True, route: str | None = None) -> Person:
        """A person connected through nginx (with the SDK's room key ``route``, if given), or
        straight to ``node``."""
        p = Person(self.t.url + (f"/?r={route}" if route else ""), token, reconnect=reconnect)
        self.people.append(p)
        await p.connect(self.url(node) if node else None)
        if join:
            await p.join()
        return p

    async def room(self, room_id: str = ROOM) -> Room:
        room = await self.rooms.get(room_id)
        assert room is not None
        return room

    async def node_of(self, participant: str, room_id: str = ROOM) -> str:
        member = (await self.room(room_id)).members[participant]
        assert member.sid, f"{participant} has no socket"
        return member.node

    async def admissions(self, target: str) -> int:
        rows = await self.store.audit_rows(room=ROOM)
        return sum(1 for r in rows if r.action == "admit" and r.target == target
                   and r.outcome == "ok")

    async def admit(self, clinician: Person, who: Person, participant: str) -> None:
        ack = await clinician.call("admit", {"participant": participant})
        assert ack["ok"], ack
        await who.wait_for("admitted")

    def dropped(self) -> list[str]:
        return [line for n in self.t.nodes.values() for line in n.lines("cluster.publish_dropped")]

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.people), return_exceptions=True)
        await self.store.close()
