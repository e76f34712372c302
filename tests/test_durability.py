"""The server killed with SIGKILL in the middle of a burst loses nothing it acknowledged.

A real ``alongside serve`` runs as a child process on the embedded SQLite store
or on a private Redis. A clinician opens an ad hoc room and fires ``lock``
toggles in waves (every toggle of a wave asks for the same value, the next wave
for the other one, so the audit trail has a known shape whatever order the
server commits a wave in). After the 50th acknowledgement the server is killed
outright; it is then started again on the same store, and the store must hold
an ``ok`` audit row for every acknowledged toggle, and the room's ``locked``
must be the value of the last committed toggle: the last acknowledged one or
one of the unacknowledged wave that was in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import socketio
from aiohttp import ClientError, ClientSession, ClientTimeout

from server.settings import Settings
from server.store import open_store
from server.tokens import mint
from tests.conftest import SECRET, free_port

if TYPE_CHECKING:
    from tests.redis_server import RedisServer


pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
ALONGSIDE = ROOT / ".venv" / "bin" / "alongside"
PROGRAM, ROOM, CLINICIAN = "p", "r", "clinician-1"
WAVE = 8
KILL_AFTER_ACKS = 50  # not a multiple of WAVE: the kill lands inside a wave
MAX_WAVES = 200
CALL_TIMEOUT = 3.0
START_TIMEOUT = 30.0


@dataclass
class ServerProcess:
    """``alongside serve`` as a child process, started and killed by the test."""

    store_url: str
    var_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.port = free_port()
        self.starts += 1
        log = self.var_dir / f"server-{self.starts}.log"
        self.logs.append(log)
        env = {**os.environ,
               "ALONGSIDE_JWT_SECRET": SECRET,
               "ALONGSIDE_STORE": self.store_url,
               "ALONGSIDE_VAR_DIR": str(self.var_dir),
               "ALONGSIDE_RATE_PER_SECOND": "10000",
               "ALONGSIDE_RATE_BURST": "10000",
               "ALONGSIDE_LOG_LEVEL": "WARNING"}
        command = [str(ALONGSIDE) if ALONGSIDE.exists() else sys.executable,
                   *([] if ALONGSIDE.exists() else ["-m", "server.cli"]),
                   "serve", "--port", str(self.port)]
        with log.open("wb") as out:
            # Popen, not asyncio's subprocess: fork/exec does not block for long, and the
            # test must be able to SIGKILL it synchronously, between two acks.
            self.process = subprocess.Popen(  # noqa: ASYNC220
                command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with ClientSession(timeout=ClientTimeout(total=2)) as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited ({self.process.returncode}):\n"
                                         f"{self.log_tail()}")
                with contextlib.suppress(ClientError, OSError, asyncio.TimeoutError):
                    async with http.get(self.url + "/readyz") as r:
                        if r.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise AssertionError(f"server not ready in {START_TIMEOUT}s:\n"
                                         f"{self.log_tail()}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.logs if p.exists())


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        return redis.url
    return f"sqlite:///{tmp_path}/alongside.db"


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(store_url, tmp_path)
    try:
        yield proc
    finally:
        proc.kill()


def clinician_token(port: int) -> str:
    settings = Settings(jwt_secret=SECRET, port=port)
    return mint(settings, sub=CLINICIAN, name="Clinician", role="clinician", program=PROGRAM,
                room=ROOM, room_kind="couples")


@contextlib.asynccontextmanager
async def clinician(server: ServerProcess) -> AsyncIterator[socketio.AsyncClient]:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(server.url, auth={"token": clinician_token(server.port)},
                      transports=["websocket"], wait_timeout=5, retry=False)
    try:
        ack = await sio.call("join", {}, timeout=5)
        assert ack["ok"], ack
        yield sio
    finally:
        with contextlib.suppress(Exception):
            await sio.disconnect()


async def test_sigkill_during_a_burst_loses_no_acknowledged_change(
        server: ServerProcess) -> None:
    await server.start()
    acks: list[int] = []          # acknowledged toggles per wave
    refusals: list[Any] = []

    async with clinician(server) as sio:
        lost = asyncio.Event()
        sio.on("disconnect", lambda *args: lost.set())

        async def toggle(wave: int, locked: bool) -> None:
            call = asyncio.ensure_future(sio.call("lock", {"locked": locked},
                                                  timeout=CALL_TIMEOUT))
            gone = asyncio.ensure_future(lost.wait())
            await asyncio.wait([call, gone], return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
            if not call.done():  # the server died; an ack already on its way may still land
                await asyncio.wait([call], timeout=0.2)
                call.cancel()
            try:
                ack = call.result()
            except (Exception, asyncio.CancelledError):  # no acknowledgement
                return
            if not ack.get("ok"):
                refusals.append(ack)
                return
            assert ack["room"]["locked"] is locked, ack
            acks[wave] += 1
            if sum(acks) == KILL_AFTER_ACKS:
                # Right now, while the rest of this wave is in flight (some of it
                # committed, its acks not yet sent): no await between the ack and this.
                assert server.process is not None
                server.process.send_signal(signal.SIGKILL)

        for wave in range(MAX_WAVES):
            if server.process is not None and server.process.poll() is not None:
                break
            acks.append(0)
            await asyncio.gather(*(toggle(wave, wave % 2 == 0) for _ in range(WAVE)))
        server.kill()

    assert not refusals, refusals
    acknowledged = sum(acks)
    assert acknowledged >= KILL_AFTER_ACKS, acks
    waves_sent = len(acks)

    await server.start()  # the same store, a fresh process
    store = open_store(server.store_url)
    await store.open()
    try:
        rows = [r for r in await store.audit_rows(room=ROOM)
                if r.actor == CLINICIAN and r.action in ("lock", "unlock")]
        assert all(r.outcome == "ok" for r in rows), {r.outcome for r in rows}
        runs = [(action, len(list(group))) for action, group in groupby(r.action for r in rows)]
        # One run of rows per wave, in wave order: every acknowledged toggle is there, and
        # nothing beyond what was sent.
        assert len(runs) <= waves_sent, (runs, acks)
        for wave, sent_acks in enumerate(acks):
            expected = "lock" if wave % 2 == 0 else "unlock"
            if wave >= len(runs):
                assert sent_acks == 0, (wave, runs, acks)
                continue
            action, count = runs[wave]
            assert action == expected, (wave, runs, acks)
            assert sent_acks <= count <= WAVE, (wave, runs, acks)
        assert len(rows) >= acknowledged

        doc = await store.read(("room", ROOM))
        assert doc is not None
        last_acked_wave = max(w for w, n in enumerate(acks) if n)
        assert len(runs) - 1 in (last_acked_wave, last_acked_wave + 1)
        assert doc["locked"] is (runs[-1][0] == "lock"), (doc["locked"], runs, acks)
    finally:
        await store.close()

    # The restarted server serves the same state.
    async with clinician(server) as sio:
        view = await sio.call("snapshot", {}, timeout=5)
        assert view["ok"], view
        assert view["room"]["locked"] is doc["locked"]
