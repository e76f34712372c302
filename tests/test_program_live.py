"""The ``program`` event: each connected member of a program hears, at once, what changed on
their own panel, and nothing else (docs/protocol.md §5). Real server, real socket.io clients;
the last test runs two server processes on one real ``redis-server``.

Also here: the couples-session text per locale, and the consent recording which locale's
version was read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from server.settings import Settings
from server.tokens import mint
from tests.cli_server import serve
from tests.conftest import SECRET, Harness
from tests.lifecycle import PROGRAM, Api, secret_of
from tests.peers import Peer
from tests.redis_server import RedisServer

CLIENT_KEYS = {"clientAgreed", "paused", "couplesSessions", "requested", "shared"}
PARTNER_KEYS = {"id", "name", "state", "consentVersion", "trialsAttended", "requests"}


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def person(h: Any, token: str) -> Peer:
    """Connected and joined (a clinician opens the room, anyone else knocks)."""
    peer = Peer(h.url, token)
    h.peers.append(peer)
    await peer.connect()
    ack = await peer.call("join", {})
    assert ack["ok"], ack
    return peer


def programs(peer: Peer) -> list[dict[str, Any]]:
    return peer.events("program")


async def quiet(peer: Peer, count: int, seconds: float = 0.5) -> None:
    """No ``program`` event beyond ``count`` arrives within ``seconds``."""
    await asyncio.sleep(seconds)
    assert len(programs(peer)) == count, programs(peer)[count:]


async def test_each_role_hears_only_its_own_panel_and_only_when_it_changed(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    clinician = await person(alongside, alongside.token(
        "clinician", sub="dr-1", program=PROGRAM, room="p-c1"))
    client = await person(alongside, alongside.token(
        "client", sub="cl-1", program=PROGRAM, room="p-ind"))

    # A new link: the clinician's panel lists it at once; the client's view is unchanged.
    secret = secret_of((await api.invite(t["clinician"], room="p-c1", quota=2))["url"])
    view = await clinician.wait_for("program", lambda v: len(v["partner"]["invites"]) == 1)
    assert view["program"] == PROGRAM and view["approvals"] == []
    assert view["partner"]["invites"][0]["answer"] is None
    assert "secret" not in str(view) and secret not in str(view)

    # The partner declines without sharing: the clinician sees it on the link; the client
    # is told nothing at all (not even that something happened).
    await api.respond(secret, "decline", expect=200)
    view = await clinician.wait_for("program", lambda v: v["partner"]["state"] == "declined")
    assert view["partner"]["invites"][0]["answer"] == "decline"
    assert view["partner"]["cooldownUntil"] is not None

    # The partner asks to hear again: the cool-down ends, the clinician sees the request.
    asked = await api.call("POST", "/api/invites/ask", None, {"secret": secret}, expect=200)
    assert asked["asked"] is True
    view = await clinician.wait_for("program", lambda v: v["partner"]["askedAt"] is not None)
    assert view["partner"]["cooldownUntil"] is None
    assert view["partner"]["history"][-1]["state"] == "asked-again"
    await quiet(client, 0)

    # So a new invitation is possible at once, and it answers the partner's request.
    await api.invite(t["clinician"], room="p-c1")
    await clinician.wait_for("program", lambda v: v["partner"]["askedAt"] is None)

    # A consent the partner shares: now the client's view changed, and only its view comes.
    await api.respond(secret, "consent", expect=200, share=True)
    shared = await client.wait_for("program")
    assert set(shared["partner"]) == CLIENT_KEYS and shared["partner"]["shared"] == "consented"
    assert set(shared) == {"program", "partner"}

    # The partner knocks with their trial pass; a clinician's check-in is not theirs to see.
    preview = await api.call("POST", "/api/invites/preview", None, {"secret": secret})
    assert preview["answer"]["decision"] == "consent" and preview["canAsk"] is False
    token = (await api.respond(secret, "consent", expect=200))["token"]
    partner = await person(alongside, token)
    before = len(programs(partner))
    await api.call("POST", f"/api/programs/{PROGRAM}/checkins", t["clinician"],
                   {"readiness": 3, "note": "private words"}, expect=201)
    view = await clinician.wait_for("program", lambda v: len(v["partner"]["checkins"]) == 1)
    await quiet(partner, before)
    # The admission counts a trial session: the partner's own view changes.
    assert (await clinician.call("admit", {"participant": "pa-1"}))["ok"]
    mine = await partner.wait_for("program", lambda v: v["partner"]["trialsAttended"] == 1)
    assert set(mine["partner"]) == PARTNER_KEYS and "approvals" not in mine
    assert "private words" not in str(partner.received) + str(client.received)
    assert all("invites" not in v["partner"] for v in programs(client) + programs(partner))


async def test_the_text_and_the_consent_follow_the_invitations_locale(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    made = await api.invite(t["clinician"], room="p-c1", locale="es")
    assert made["locale"] == "es"
    secret = secret_of(made["url"])

    es = await api.call("POST", "/api/invites/preview", None, {"secret": secret}, expect=200)
    assert (es["locale"], es["invitationLocale"]) == ("es", "es")
    assert es["couplesInfo"]["version"] == "couples-info-v1-es"
    assert es["couplesInfo"]["title"] == "Sobre las sesiones de pareja"
    assert es["support"][0]["title"] == "Grupos de apoyo para familias"
    en = await api.call("POST", "/api/invites/preview?locale=en", None, {"secret": secret},
                        expect=200)
    assert en["locale"] == "en" and en["couplesInfo"]["version"] == "couples-info-v1-en"
    bad = await api.call("POST", "/api/invites/preview?locale=fr", None, {"secret": secret},
                         expect=422)
    assert bad["error"]["code"] == "E_SCHEMA"
    bad = await api.invite(t["clinician"], room="p-c1", locale="fr", expect=422)
    assert bad["error"]["code"] == "E_SCHEMA"

    # Saying one read Spanish while sending the English version is not a consent to it.
    answer = await api.call("POST", "/api/invites/respond", None, {
        "secret": secret, "decision": "consent", "locale": "es",
        "documentVersion": "couples-info-v1-en"}, expect=409)
    assert answer["error"]["code"] == "E_CONSENT_REQUIRED"
    await api.call("POST", "/api/invites/respond", None, {
        "secret": secret, "decision": "consent", "locale": "es",
        "documentVersion": es["couplesInfo"]["version"]}, expect=200)
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["consentVersion"] == "couples-info-v1-es"
    # The audit row of the consent stays content-free.
    text = await api.call("GET", f"/api/audit?program={PROGRAM}", t["clinician"], expect=200)
    assert "invite-consent" in text and "Sobre" not in text
    assert (await api.call("GET", "/api/support?locale=es"))[0]["title"] == \
        "Grupos de apoyo para familias"


@dataclass
class Node:
    """A server process of the cluster, as the Api helper drives one."""

    url: str
    settings: Settings = field(default_factory=lambda: Settings(jwt_secret=SECRET))
    peers: list[Peer] = field(default_factory=list)

    def token(self, role: str, *, sub: str, program: str, room: str, name: str = "") -> str:
        return mint(self.settings, sub=sub, name=name or role.title(), role=role,
                    program=program, room=room, ttl=600)


async def test_the_program_event_crosses_nodes(tmp_path: Path,
                                               redis_server: RedisServer) -> None:
    env = {"ALONGSIDE_STORE": redis_server.url, "ALONGSIDE_LOG_KEY": "clinic-key"}
    servers = [serve(tmp_path / name, env={**env, "ALONGSIDE_NODE_ID": name}, name=name)
               for name in ("app1", "app2")]
    one, two = (Node(s.url) for s in servers)
    try:
        async with ClientSession() as http:
            api1, api2 = Api(one, http), Api(two, http)  # type: ignore[arg-type]
            t = await api1.setup_program()
            await api1.step(t["client"], "agree")
            # The clinician's socket is on app1; the client's on app2.
            clinician = await person(one, one.token("clinician", sub="dr-1", program=PROGRAM,
                                                    room="p-c1"))
            client = await person(two, two.token("client", sub="cl-1", program=PROGRAM,
                                                 room="p-ind"))
            secret = secret_of((await api1.invite(t["clinician"], room="p-c1"))["url"])
            await clinician.wait_for("program", lambda v: len(v["partner"]["invites"]) == 1)
            # The partner answers on app2; the clinician on app1 hears it.
            started = asyncio.get_running_loop().time()
            await api2.respond(secret, "consent", expect=200, share=True)
            view = await clinician.wait_for(
                "program", lambda v: v["partner"]["state"] == "consented", timeout=5)
            assert asyncio.get_running_loop().time() - started < 2
            assert view["partner"]["invites"][0]["answer"] == "consent"
            # A write on app1 reaches the client's socket on app2, as the client's own view.
            await api1.step(t["client"], "pause")
            mine = await client.wait_for("program", lambda v: v["partner"]["paused"])
            assert set(mine["partner"]) == CLIENT_KEYS
            for p in one.peers + two.peers:
                await p.close()
    finally:
        for s in servers:
            s.stop()
    assert not any(line.get("event") == "cluster.publish_dropped"
                   for s in servers for line in s.log_lines())
