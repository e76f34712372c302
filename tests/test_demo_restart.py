"""`make run` twice: the second start keeps the demo as the first left it, and prints links
that still work; `--reset-demo` starts it afresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import ClientSession

from server import demo
from tests.cli_server import CliServer, serve
from tests.peers import Peer, tool_act

CLIENT_FEELING = "Demo-Feel-Rq27"


def secret(link: str) -> str:
    return link.split("#", 1)[1]


def token(link: str) -> str:
    return link.split("#", 1)[1]


async def rest(server: CliServer, method: str, path: str, body: Any = None,
               bearer: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with ClientSession() as http:
        async with http.request(method, server.url + path, json=body, headers=headers) as r:
            return r.status, await r.json()


async def consent(server: CliServer, invite_link: str) -> dict[str, Any]:
    status, preview = await rest(server, "POST", "/api/invites/preview",
                                 {"secret": secret(invite_link)})
    assert status == 200 and preview["status"] == "ok", preview
    status, answer = await rest(server, "POST", "/api/invites/respond", {
        "secret": secret(invite_link), "decision": "consent",
        "documentVersion": preview["couplesInfo"]["version"]})
    assert status == 200, answer
    return answer


async def partner_state(server: CliServer) -> str:
    status, view = await rest(server, "GET", f"/api/programs/{demo.PROGRAM}/partner",
                              bearer=token(server.links()["clinician"]))
    assert status == 200, view
    return str(view["state"])


async def with_token(server: CliServer, bearer: str, peers: list[Peer]) -> Peer:
    peer = Peer(server.url, bearer)
    peers.append(peer)
    await peer.connect()
    peer.join_ack = ack = await peer.call("join", {})  # type: ignore[attr-defined]
    assert ack["ok"], ack
    return peer


async def person(server: CliServer, who: str, peers: list[Peer]) -> tuple[Peer, dict[str, Any]]:
    peer = await with_token(server, token(server.links()[who]), peers)
    return peer, peer.join_ack  # type: ignore[attr-defined]


async def close(peers: list[Peer]) -> None:
    for peer in peers:
        await peer.close()
    peers.clear()


async def test_a_restart_keeps_the_demo_and_reset_demo_wipes_it(tmp_path: Path) -> None:
    peers: list[Peer] = []
    server = serve(tmp_path, "--demo", name="first")
    try:
        # The partner consents; the clinician admits client and partner and starts an
        # exercise, and the client answers.
        trial = await consent(server, server.links()["partner invite"])
        clinician, _ = await person(server, "clinician", peers)
        client, _ = await person(server, "client", peers)
        partner = await with_token(server, trial["token"], peers)
        for who, peer in ((demo.CLIENT.sub, client), (demo.PARTNER.sub, partner)):
            assert (await clinician.call("admit", {"participant": who}))["ok"]
            await peer.wait_for("admitted")
        started = await clinician.call("tool:start", {"tool": "exercises",
                                                      "options": {"exercise": "i-statements"}})
        assert started["ok"], started
        answered = await tool_act(client, "exercises", "answer", {"fields": {
            "feel": CLIENT_FEELING, "when": "plans change", "need": "a text"}})
        assert answered["ok"], answered
        await close(peers)
    finally:
        server.stop()

    server = serve(tmp_path, "--demo", name="second")
    try:
        # The partner's consent is still theirs: they come back in on their trial pass, and
        # so does the client, both still admitted; the exercise and the answer are there.
        assert await partner_state(server) == "consented"
        clinician, _ = await person(server, "clinician", peers)
        for link in (trial["token"], token(server.links()["client"])):
            back = await with_token(server, link, peers)
            assert back.join_ack["you"]["state"] == "admitted", back.join_ack["you"]
        [running] = (await clinician.call("tools", {}))["running"]
        assert running["name"] == "exercises"
        assert running["view"]["answers"][demo.CLIENT.sub]["value"]["feel"] == CLIENT_FEELING
        # The printed partner link is a fresh, working invite.
        status, preview = await rest(server, "POST", "/api/invites/preview",
                                     {"secret": secret(server.links()["partner invite"])})
        assert status == 200 and preview["status"] == "ok", preview
        assert "kept as the last run left it" in server.out()
        await close(peers)
    finally:
        server.stop()

    server = serve(tmp_path, "--reset-demo", name="third")
    try:
        assert await partner_state(server) == "invited"
        # The consent and the trial pass are gone: the partner's old token opens nothing.
        partner = Peer(server.url, trial["token"])
        with pytest.raises(socketio.exceptions.ConnectionError):
            await partner.connect()
        assert partner.connect_error["code"] == "E_CONSENT_REQUIRED", partner.connect_error
        clinician, opened = await person(server, "clinician", peers)
        assert opened["room"]["participants"] == [] and opened["room"]["lobby"] == [], opened
        assert (await clinician.call("tools", {}))["running"] == []
        await consent(server, server.links()["partner invite"])
        await close(peers)
    finally:
        server.stop()


async def test_a_restart_never_invites_again_over_the_partners_answer(tmp_path: Path) -> None:
    server = serve(tmp_path, "--demo", name="first")
    try:
        link = secret(server.links()["partner invite"])
        status, preview = await rest(server, "POST", "/api/invites/preview", {"secret": link})
        assert status == 200, preview
        status, answer = await rest(server, "POST", "/api/invites/respond",
                                    {"secret": link, "decision": "not-now"})
        assert status == 200 and answer["state"] == "deferred", answer
    finally:
        server.stop()
    server = serve(tmp_path, "--demo", name="second")
    try:
        # "Not now" stays the answer: no new invite moves the partner back to "invited".
        assert await partner_state(server) == "deferred"
        assert "partner invite" not in server.links()
        assert "partner invite: none" in server.out()
        assert "clinician" in server.links() and "client" in server.links()
    finally:
        server.stop()


async def test_after_approval_a_restart_prints_the_partners_session_link(tmp_path: Path) -> None:
    server = serve(tmp_path, "--demo", name="first")
    try:
        await consent(server, server.links()["partner invite"])
        status, step = await rest(server, "POST", f"/api/programs/{demo.PROGRAM}/partner/steps",
                                  {"step": "approve", "note": "ready"},
                                  bearer=token(server.links()["clinician"]))
        assert status == 200, step
    finally:
        server.stop()
    server = serve(tmp_path, "--demo", name="second")
    peers: list[Peer] = []
    try:
        assert await partner_state(server) == "approved"
        assert "partner invite" not in server.links()
        partner, knocked = await person(server, "partner", peers)
        assert knocked["you"]["state"] == "lobby", knocked["you"]
        await close(peers)
    finally:
        server.stop()
