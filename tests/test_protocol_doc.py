"""The protocol keeps to its document: what a client written from docs/protocol.md (and
docs/media.md) alone relies on, checked against a real server and real clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from server.http import replies
from server.http.openapi import document
from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api, secret_of
from tests.peers import Peer, call_kept

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


def closed(peer: Peer) -> asyncio.Event:
    """Set when the server closes ``peer``'s connection."""
    event = asyncio.Event()

    async def on_disconnect(*_: Any) -> None:
        event.set()

    peer.sio.on("disconnect", on_disconnect)
    return event


# -- (a) redeeming an invite: the preview's couplesInfo.version, as documentVersion -----------
def test_the_openapi_document_types_the_preview_and_names_document_version() -> None:
    doc = document()
    ok = doc["paths"]["/api/invites/preview"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InvitePreview"}
    schemas = doc["components"]["schemas"]
    assert "couplesInfo" in schemas["InvitePreview"]["required"]
    assert "version" in schemas["CouplesInfo"]["required"]
    field = schemas["InviteResponse"]["properties"]["documentVersion"]
    assert "Required to consent" in field["description"]
    assert "couplesInfo.version" in field["description"]
    for page in ("protocol.md", "partner-lifecycle.md"):
        text = (DOCS / page).read_text()
        assert "`documentVersion`" in text and "couplesInfo.version" in text, page


async def test_consent_needs_the_previewed_version(alongside: Harness,
                                                  http: ClientSession) -> None:
    api = Api(alongside, http)
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"]))["url"])
    preview = await api.call("POST", "/api/invites/preview", None, {"secret": secret},
                             expect=200)
    replies.InvitePreview.model_validate(preview)  # the documented shape, exactly
    for version in (None, "not-the-one-read"):
        body = {"secret": secret, "decision": "consent", "documentVersion": version}
        refused = await api.call("POST", "/api/invites/respond", None, body, expect=409)
        assert refused["error"]["code"] == "E_CONSENT_REQUIRED"
    consented = await api.call("POST", "/api/invites/respond", None, {
        "secret": secret, "decision": "consent",
        "documentVersion": preview["couplesInfo"]["version"]}, expect=200)
    replies.InviteConsented.model_validate(consented)
    program = await api.call("GET", f"/api/programs/{PROGRAM}", t["clinician"], expect=200)
    assert program["partner"]["state"] == "consented"


# -- (b) the actor of a room event gets its answer, not a `room` event -----------------------
async def test_the_actor_gets_no_room_event_for_its_own_change(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.peer("partner")
    rooms = len(clinician.events("room"))
    in_room = lambda d: any(p["id"] == "partner-1" for p in d["participants"])  # noqa: E731
    steps: list[tuple[Peer, str, dict[str, Any], Any]] = [
        (clinician, "admit", {"participant": "partner-1"}, in_room),
        (clinician, "lock", {"locked": True}, lambda d: d["locked"]),
        (clinician, "lock", {"locked": False}, lambda d: not d["locked"]),
        (clinician, "send-back", {"participant": "partner-1"}, lambda d: not in_room(d)),
        # The partner is in the lobby, which only the clinician sees: the client is told nothing.
        (clinician, "deny", {"participant": "partner-1"}, None),
    ]
    for actor, event, payload, seen in steps:
        ack = await call_kept(actor, event, payload)
        assert ack["ok"], (event, ack)
        if seen is not None:  # others learn of it by a `room` event
            await client.wait_for("room", seen)
    assert len(clinician.events("room")) == rooms
    # The client's own knock and leave: no `room` to the client, one to the clinician each.
    client_rooms = len(client.events("room"))
    assert (await call_kept(client, "leave", {}))["ok"]
    joined = await call_kept(client, "join", {})
    assert joined["ok"] and joined["room"]["you"]["state"] == "lobby"
    await clinician.wait_for("room", lambda d: [p["id"] for p in d.get("lobby", [])]
                             == ["client-1"])
    assert len(client.events("room")) == client_rooms
    assert partner.sio.connected  # denied, still connected: they may knock again


async def test_a_tool_action_reaches_its_actor_as_a_room_event(alongside: Harness) -> None:
    """Tool answers carry the tools, not the room: a move into a side room arrives as `room`."""
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    await alongside.admitted("partner", clinician)
    ack = await call_kept(client, "tool:start", {"tool": "timeout", "options": {}})
    assert ack["ok"] and "room" not in ack
    moved = await client.wait_for("room", lambda d: d["side"] != "")
    assert moved["side"] == "timeout-client-1"


# -- (c) after `ended`, every socket of the room is closed, the clinician's too --------------
async def test_end_closes_every_socket_after_the_clinicians_answer(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    closes = {"clinician": closed(clinician), "client": closed(client)}
    ack = await call_kept(clinician, "end", {})
    assert ack == {"ok": True}
    events = [e for e, _ in clinician.received]
    assert events.index("ended") < events.index("ack:end")
    await asyncio.wait_for(asyncio.gather(*(c.wait() for c in closes.values())), 3)
    assert not clinician.sio.connected and not client.sio.connected


# -- (d) `ice-servers` answers before `join`, as protocol.md and media.md say ---------------
async def test_ice_servers_answers_before_join(alongside: Harness) -> None:
    person = await alongside.peer("client", join=False)
    ack = await person.call("ice-servers", {})
    assert ack["ok"] and ack["iceServers"] == [] and ack["turn"] == "none"
    assert (await person.call("snapshot", {}))["error"]["code"] == "E_NOT_JOINED"
    media = (DOCS / "media.md").read_text()
    paragraphs = media.split("\n\n")
    assert not [p for p in paragraphs if "`ice-servers`" in p and "E_NOT_JOINED" in p]


def test_every_documented_rest_status_is_in_the_openapi_document() -> None:
    """§8's table and the OpenAPI document list the same refusals for a body route."""
    responses = document()["paths"]["/api/invites/respond"]["post"]["responses"]
    text = (DOCS / "protocol.md").read_text()
    section = text[text.index("## 8. REST requests"):]
    for status in ("413", "415", "422", "500", "503"):
        assert f"| {status} |" in section and status in responses, status
