"""`alongside backup` mid-session and `alongside restore` into the stopped node: every write
acknowledged before the backup comes back, and nothing acknowledged after it.

The real CLI throughout, on the embedded SQLite store: ``alongside serve --demo`` as a
process (tests/cli_server.py), a couples session over socket.io (the partner consents on
their link, both are admitted, an exercise is started and answered), ``alongside backup``
while they are connected, more acknowledged writes (a second answer, a lock, the client's
pause), a refused restore while the server serves, then stop, restore, start again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from server import demo
from tests.cli_server import ROOT, CliServer, serve
from tests.conftest import SECRET
from tests.peers import Peer, tool_act

BEFORE, AFTER = "Feel-Before-Kx41", "Feel-After-Vq93"


def cli(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``alongside *args`` with the environment ``serve`` gave the node in ``directory``."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ALONGSIDE_")},
           "ALONGSIDE_JWT_SECRET": SECRET, "ALONGSIDE_VAR_DIR": str(directory),
           "ALONGSIDE_STORE": f"sqlite:///{directory}/alongside.db"}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def bearer(server: CliServer, who: str) -> str:
    return server.links()[who].split("#", 1)[1]


async def rest(server: CliServer, method: str, path: str, body: Any = None,
               token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with ClientSession() as http, http.request(method, server.url + path, json=body,
                                                     headers=headers) as r:
        data = await (r.json() if r.content_type == "application/json" else r.text())
        return r.status, data


async def audit(server: CliServer) -> list[tuple[Any, ...]]:
    status, text = await rest(server, "GET", f"/api/audit?program={demo.PROGRAM}",
                              token=bearer(server, "clinician"))
    assert status == 200, text
    return [tuple(sorted(json.loads(line).items())) for line in text.splitlines()]


async def joined(server: CliServer, token: str, peers: list[Peer]) -> tuple[Peer, Any]:
    peer = Peer(server.url, token)
    peers.append(peer)
    await peer.connect()
    ack = await peer.call("join", {})
    assert ack["ok"], ack
    return peer, ack


def answers(running: list[dict[str, Any]]) -> str:
    [exercise] = [t for t in running if t["name"] == "exercises"]
    return str(exercise["view"]["answers"][demo.CLIENT.sub]["value"]["feel"])


async def test_a_backup_mid_session_restores_every_write_acknowledged_before_it(
        tmp_path: Path) -> None:
    node, copy = tmp_path / "node", tmp_path / "backups" / "mid-session.db"
    copy.parent.mkdir()
    peers: list[Peer] = []
    server = serve(node, "--demo", name="first")
    try:
        link = server.links()["partner invite"].split("#", 1)[1]
        status, preview = await rest(server, "POST", "/api/invites/preview", {"secret": link})
        assert status == 200, preview
        status, trial = await rest(server, "POST", "/api/invites/respond", {
            "secret": link, "decision": "consent",
            "documentVersion": preview["couplesInfo"]["version"]})
        assert status == 200, trial
        clinician, _ = await joined(server, bearer(server, "clinician"), peers)
        client, _ = await joined(server, bearer(server, "client"), peers)
        partner, _ = await joined(server, trial["token"], peers)
        for who, peer in ((demo.CLIENT.sub, client), (demo.PARTNER.sub, partner)):
            assert (await clinician.call("admit", {"participant": who}))["ok"]
            await peer.wait_for("admitted")
        assert (await clinician.call("tool:start", {"tool": "exercises", "options": {
            "exercise": "i-statements"}}))["ok"]
        fields = {"when": "plans change", "need": "a text"}
        assert (await tool_act(client, "exercises", "answer",
                               {"fields": {"feel": BEFORE, **fields}}))["ok"]
        acknowledged = await audit(server)

        made = cli(node, "backup", str(copy))  # while all three are connected
        assert made.returncode == 0, made.stderr
        assert "Backed up" in made.stdout and copy.is_file()

        # Acknowledged after the backup: none of these may come back.
        assert (await tool_act(client, "exercises", "answer",
                               {"fields": {"feel": AFTER, **fields}}))["ok"]
        assert (await clinician.call("lock", {"locked": True}))["ok"]
        status, paused = await rest(server, "POST",
                                    f"/api/programs/{demo.PROGRAM}/partner/steps",
                                    {"step": "pause"}, token=bearer(server, "client"))
        assert status == 200, paused

        refused = cli(node, "restore", str(copy))  # the server still has the store open
        assert refused.returncode == 1 and "stop every node" in refused.stderr, refused
        for peer in peers:
            await peer.close()
        peers.clear()
    finally:
        server.stop()

    restored = cli(node, "restore", str(copy))
    assert restored.returncode == 0, restored.stderr
    assert (node / "alongside.db.before-restore").is_file()

    server = serve(node, "--demo", name="second")
    try:
        rows = await audit(server)
        missing = [row for row in acknowledged if row not in rows]
        assert not missing, missing
        actions = [dict(row)["action"] for row in rows]
        assert "partner-pause" not in actions and "lock" not in actions
        status, view = await rest(server, "GET", f"/api/programs/{demo.PROGRAM}/partner",
                                  token=bearer(server, "clinician"))
        assert status == 200 and view["state"] == "consented", view
        clinician, opened = await joined(server, bearer(server, "clinician"), peers)
        assert opened["room"]["locked"] is False
        assert answers((await clinician.call("tools", {}))["running"]) == BEFORE
        for token in (bearer(server, "client"), trial["token"]):
            _, back = await joined(server, token, peers)
            assert back["you"]["state"] == "admitted", back["you"]
        for peer in peers:
            await peer.close()
    finally:
        server.stop()


def test_backup_and_restore_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    nothing = cli(tmp_path, "backup", str(tmp_path / "copy.db"))
    assert nothing.returncode == 1 and "no store there" in nothing.stderr
    (tmp_path / "junk.db").write_text("not a database")
    junk = cli(tmp_path, "restore", str(tmp_path / "junk.db"))
    assert junk.returncode == 1 and "not an Alongside store" in junk.stderr
    env_redis = subprocess.run(
        [sys.executable, "-m", "server.cli", "backup", str(tmp_path / "x.db")],
        env={**os.environ, "ALONGSIDE_JWT_SECRET": SECRET,
             "ALONGSIDE_STORE": "redis://127.0.0.1:1/0"},
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert env_redis.returncode == 1 and "Redis itself" in env_redis.stderr
