"""Driving the REST API as integrator, clinician, client and partner would."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from aiohttp import ClientSession

from tests.conftest import Harness
from tests.peers import Peer

PROGRAM = "p-life"


class Api:
    def __init__(self, h: Harness, http: ClientSession) -> None:
        self.h, self.http = h, http

    def tokens(self) -> dict[str, str]:
        h = self.h
        return {
            "integrator": h.token("integrator", sub="host", program="*", room="-"),
            "clinician": h.token("clinician", sub="dr-1", program=PROGRAM, room="p-ind"),
            "client": h.token("client", sub="cl-1", program=PROGRAM, room="p-ind"),
        }

    async def call(self, method: str, path: str, token: str | None = None,
                   json: Any = None, expect: int | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.h.url + path, json=json,
                                     headers=headers) as r:
            data = await (r.json() if r.content_type == "application/json" else r.text())
            if expect is not None:
                assert r.status == expect, (r.status, data)
            return data

    async def setup_program(self) -> dict[str, str]:
        t = self.tokens()
        await self.call("POST", "/api/programs", t["integrator"], {
            "id": PROGRAM, "client": {"id": "cl-1", "name": "Sam"},
            "clinicians": [{"id": "dr-1", "name": "Dr. Rivera"}],
            "partner": {"id": "pa-1", "name": "Partner"}, "maxTrials": 2, "cooldownDays": 30},
            expect=201)
        for sid, kind in (("p-ind", "individual"), ("p-c1", "couples"), ("p-c2", "couples")):
            await self.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                            {"id": sid, "kind": kind}, expect=201)
        return t

    async def step(self, token: str, step: str, expect: int = 200, **extra: Any) -> Any:
        return await self.call("POST", f"/api/programs/{PROGRAM}/partner/steps", token,
                               {"step": step, **extra}, expect=expect)

    async def invite(self, clinician: str, room: str = "p-c1", quota: int = 1,
                     expect: int = 201, **extra: Any) -> Any:
        return await self.call("POST", f"/api/programs/{PROGRAM}/invites", clinician,
                               {"room": room, "quota": quota, **extra}, expect=expect)

    async def consented_partner(self) -> tuple[dict[str, str], str, str]:
        """A program whose client agreed and whose partner consented on a fresh link:
        the tokens, the link's secret and the partner's session token."""
        t = await self.setup_program()
        await self.step(t["client"], "agree")
        secret = secret_of((await self.invite(t["clinician"]))["url"])
        partner = (await self.respond(secret, "consent", expect=200))["token"]
        return t, secret, partner

    async def respond(self, secret: str, decision: str, expect: int | None = None,
                      **extra: Any) -> Any:
        preview = await self.call("POST", "/api/invites/preview", None, {"secret": secret})
        version = preview.get("couplesInfo", {}).get("version")
        return await self.call("POST", "/api/invites/respond", None,
                               {"secret": secret, "decision": decision,
                                "documentVersion": version, **extra}, expect=expect)


def secret_of(url: str) -> str:
    assert "#" in url and "?" not in url
    return url.split("#", 1)[1]


async def connect(h: Harness, token: str) -> Peer:
    peer = Peer(h.url, token)
    h.peers.append(peer)
    await peer.connect()
    return peer


async def refused_at_handshake(h: Harness, token: str) -> str:
    peer = Peer(h.url, token)
    h.peers.append(peer)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect()
    return str(peer.connect_error["code"])
