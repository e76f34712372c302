"""The partner lifecycle end to end: REST for decisions, socket.io for rooms, audit for all."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import ClientSession

from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api, connect, refused_at_handshake, secret_of
from tests.peers import Peer


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def clinician_in(h: Harness, room: str) -> Peer:
    peer = await connect(h, h.token("clinician", sub="dr-1", program=PROGRAM, room=room))
    assert (await peer.call("join", {}))["ok"]
    return peer


async def test_invite_consent_trial_request_approve_and_a_later_session(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    # Without the client's agreement the clinician cannot invite.
    err = await api.invite(t["clinician"], expect=409)
    assert err["error"]["code"] == "E_CLIENT_AGREEMENT_REQUIRED"
    await api.step(t["client"], "agree")
    created = await api.invite(t["clinician"], quota=1)
    secret = secret_of(created["url"])
    preview = await api.call("POST", "/api/invites/preview", None, {"secret": secret},)
    assert preview["status"] == "ok" and preview["trialsLeft"] == 1
    assert any("voluntary" in p for p in preview["couplesInfo"]["paragraphs"])

    consent = await api.respond(secret, "consent", expect=200, name="Alex")
    partner_token = consent["token"]
    assert consent["room"] == "p-c1"

    clinician = await clinician_in(alongside, "p-c1")
    partner = await connect(alongside, partner_token)
    knock = await partner.call("join", {})
    assert knock["ok"] and knock["you"]["state"] == "lobby"
    lobby = await clinician.wait_for("room", lambda r: r.get("lobby"))
    assert lobby["lobby"][0]["name"] == "Alex"
    admitted = await clinician.call("admit", {"participant": "pa-1"})
    # The admission is a newer room: clients drop snapshots that are not.
    assert admitted["ok"] and admitted["room"]["version"] > lobby["version"]
    await partner.wait_for("admitted")

    # After the trial the partner asks to continue; the clinician sees it with context.
    asked = await api.step(partner_token, "request")
    assert asked["state"] == "requested"
    queue = await api.call("GET", f"/api/programs/{PROGRAM}/approvals", t["clinician"],
                           expect=200)
    assert queue[0]["by"] == "partner" and queue[0]["trialsAttended"] == 1
    # Neither the client nor the partner can approve.
    for who in (t["client"], partner_token):
        err = await api.step(who, "approve", expect=403, note="ok")
        assert err["error"]["code"] == "E_FORBIDDEN_ROLE"
    err = await api.step(t["clinician"], "approve", expect=409)
    assert err["error"]["code"] == "E_NOTE_REQUIRED"
    approved = await api.step(t["clinician"], "approve", note="Trial went well; both agree.")
    assert approved["state"] == "approved"

    later = await api.call("POST", f"/api/programs/{PROGRAM}/partner/session-token",
                           partner_token, {"room": "p-c2"}, expect=200)
    clinician2 = await clinician_in(alongside, "p-c2")
    partner2 = await connect(alongside, later["token"])
    assert (await partner2.call("join", {}))["you"]["state"] == "lobby"
    assert (await clinician2.call("admit", {"participant": "pa-1"}))["ok"]
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["state"] == "active" and view["trialsAttended"] == 1

    # Every step is in the audit export, content-free.
    text = await api.call("GET", f"/api/audit?program={PROGRAM}", t["clinician"], expect=200)
    rows = [json.loads(line) for line in text.splitlines()]
    actions = [r["action"] for r in rows if r["outcome"] == "ok"]
    for action in ("create-program", "partner-agree", "create-invite", "invite-consent", "join",
                   "admit", "partner-request", "partner-approve"):
        assert action in actions, action
    assert {r["outcome"] for r in rows if r["action"] == "partner-approve"} == {
        "ok", "refused:E_FORBIDDEN_ROLE", "refused:E_NOTE_REQUIRED"}
    dumped = text + json.dumps(rows)
    assert secret not in dumped and "Trial went well" not in dumped and "Alex" not in dumped


async def test_decline_never_reaches_the_lobby_and_the_client_goes_on(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"]))["url"])
    declined = await api.respond(secret, "decline", expect=200)
    assert declined["state"] == "declined" and declined["support"]
    # The partner's would-be token does not exist; a forged-by-host one is still refused.
    token = alongside.token("partner", sub="pa-1", program=PROGRAM, room="p-c1")
    assert await refused_at_handshake(alongside, token) == "E_CONSENT_REQUIRED"
    # The client learns nothing the partner did not share.
    seen = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["client"], expect=200)
    assert seen == {"clientAgreed": True, "paused": False, "couplesSessions": False,
                    "requested": False, "shared": None}
    # The client's individual session is untouched.
    clinician = await clinician_in(alongside, "p-ind")
    client = await connect(alongside, t["client"])
    assert (await client.call("join", {}))["ok"]
    assert (await clinician.call("admit", {"participant": "cl-1"}))["ok"]
    await client.wait_for("admitted")
    # The decline is respected: no new invitation during the cool-down.
    err = await api.invite(t["clinician"], expect=409)
    assert err["error"]["code"] == "E_COOLDOWN"
    # ... unless the partner asks: the still-valid link lets them change their mind.
    again = await api.respond(secret, "consent", expect=200)
    assert again["room"] == "p-c1"


async def test_invite_links_expired_exhausted_revoked_and_unknown(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    short = secret_of((await api.invite(t["clinician"], expiresInHours=0.0003))["url"])
    await asyncio.sleep(1.2)
    assert (await api.respond(short, "consent", expect=410))["error"]["code"] == \
        "E_INVITE_EXPIRED"
    once = secret_of((await api.invite(t["clinician"]))["url"])
    await api.respond(once, "consent", expect=200)
    replay = await api.respond(once, "consent", expect=410)
    assert replay["error"]["code"] == "E_INVITE_EXHAUSTED"
    revoked = await api.invite(t["clinician"])
    await api.call("DELETE", f"/api/programs/{PROGRAM}/invites/{revoked['id']}",
                   t["clinician"], expect=200)
    err = await api.respond(secret_of(revoked["url"]), "consent", expect=410)
    assert err["error"]["code"] == "E_INVITE_REVOKED"
    err = await api.call("POST", "/api/invites/respond", None, {
        "secret": "x" * 43, "decision": "consent", "documentVersion": "v"}, expect=404)
    assert err["error"]["code"] == "E_INVITE_INVALID"
    too_many = await api.invite(t["clinician"], quota=3, expect=409)
    assert too_many["error"]["code"] == "E_QUOTA_TOO_HIGH"
    rows = await alongside.store.audit_rows(program=PROGRAM)
    assert {"refused:E_INVITE_EXPIRED", "refused:E_INVITE_EXHAUSTED",
            "refused:E_INVITE_REVOKED"} <= {r.outcome for r in rows}


async def test_the_last_trial_use_redeemed_twice_at_once_has_one_winner(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"], quota=1))["url"])
    version = (await api.call("POST", "/api/invites/preview", None,
                              {"secret": secret}))["couplesInfo"]["version"]
    body = {"secret": secret, "decision": "consent", "documentVersion": version}
    results = await asyncio.gather(*(api.call("POST", "/api/invites/respond", None, body)
                                     for _ in range(2)))
    winners = [r for r in results if "token" in r]
    losers = [r for r in results if "error" in r]
    assert len(winners) == 1 and [r["error"]["code"] for r in losers] == ["E_INVITE_EXHAUSTED"]


async def test_withdrawal_pause_and_revocation_move_a_partner_out_at_once(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    clinician = await clinician_in(alongside, "p-c1")

    link = await api.invite(t["clinician"], quota=2)

    async def partner_in_room() -> tuple[str, Peer]:
        token = (await api.respond(secret_of(link["url"]), "consent", expect=200))["token"]
        peer = await connect(alongside, token)
        await peer.call("join", {})
        assert (await clinician.call("admit", {"participant": "pa-1"}))["ok"]
        await peer.wait_for("admitted")
        return token, peer

    token, partner = await partner_in_room()
    started = time.monotonic()
    await api.step(token, "withdraw")
    removed = await partner.wait_for("removed", timeout=1)
    assert time.monotonic() - started < 1.0 and removed["code"] == "E_CONSENT_WITHDRAWN"
    assert await refused_at_handshake(alongside, token) == "E_CONSENT_WITHDRAWN"
    # Consent is given only through an invite page, never as a bare step.
    assert (await api.step(token, "consent", expect=422))["error"]["code"] == "E_SCHEMA"
    # The withdrawal is respected: the clinician cannot re-invite during the cool-down ...
    assert (await api.invite(t["clinician"], expect=409))["error"]["code"] == "E_COOLDOWN"

    # ... but the partner may come back on their own link. Paused by the client: out at once.
    token, partner = await partner_in_room()
    await api.step(t["client"], "pause")
    assert (await partner.wait_for("removed", timeout=1))["code"] == "E_PARTNER_PAUSED"
    assert await refused_at_handshake(alongside, token) == "E_PARTNER_PAUSED"
    await api.step(t["client"], "resume")

    # Revoking the invite removes a partner in the room on its trial pass.
    partner = await connect(alongside, token)
    await partner.call("join", {})
    await clinician.call("admit", {"participant": "pa-1"})
    await partner.wait_for("admitted")
    await api.call("DELETE", f"/api/programs/{PROGRAM}/invites/{link['id']}", t["clinician"],
                   expect=200)
    assert (await partner.wait_for("removed", timeout=1))["code"] == "E_INVITE_REVOKED"
    assert await refused_at_handshake(alongside, token) == "E_APPROVAL_REQUIRED"

    # Revoked by the clinician for safety: closed for good.
    await api.step(t["clinician"], "revoke")
    assert await refused_at_handshake(alongside, token) == "E_PARTNER_REVOKED"


async def test_a_partner_acts_only_on_their_own_program(alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"]))["url"])
    token = (await api.respond(secret, "consent", expect=200))["token"]
    err = await api.call("GET", "/api/programs/prog-1/partner", token, expect=403)
    assert err["error"]["code"] == "E_FORBIDDEN_PROGRAM"
    err = await api.call("POST", "/api/programs/prog-1/partner/steps", token,
                         {"step": "request"}, expect=403)
    assert err["error"]["code"] == "E_FORBIDDEN_PROGRAM"
    peer = Peer(alongside.url, token)
    alongside.peers.append(peer)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(auth={"token": token, "room": "room-couples"})
    assert peer.connect_error["code"] == "E_FORBIDDEN_ROOM"
    rows = await alongside.store.audit_rows(program="prog-1")
    assert any(r.actor == "pa-1" and r.outcome == "refused:E_FORBIDDEN_PROGRAM" for r in rows)
    # A partner never learns of the client's individual sessions.
    sessions = await api.call("GET", f"/api/programs/{PROGRAM}/sessions", token, expect=200)
    assert {s["kind"] for s in sessions} == {"couples"}


async def test_an_approved_partner_can_be_admitted_mid_individual_session(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    token = (await api.respond(secret_of((await api.invite(t["clinician"]))["url"]),
                               "consent", expect=200))["token"]
    await api.step(t["client"], "request")  # the client may ask too
    await api.step(t["clinician"], "approve", note="Ready")
    clinician = await clinician_in(alongside, "p-ind")
    client = await connect(alongside, t["client"])
    await client.call("join", {})
    await clinician.call("admit", {"participant": "cl-1"})
    now = await api.call("POST", f"/api/programs/{PROGRAM}/partner/session-token", token,
                         {"room": "p-ind"}, expect=200)
    partner = await connect(alongside, now["token"])
    assert (await partner.call("join", {}))["you"]["state"] == "lobby"
    ack = await clinician.call("admit", {"participant": "pa-1"})
    assert ack["ok"] and ack["room"]["kind"] == "couples"
    assert {p["id"] for p in ack["room"]["participants"]} == {"cl-1", "pa-1"}


async def test_checkins_history_and_attendance(alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    token = (await api.respond(secret_of((await api.invite(t["clinician"]))["url"]),
                               "consent", expect=200))["token"]
    await api.call("POST", f"/api/programs/{PROGRAM}/checkins", t["clinician"],
                   {"readiness": 2, "note": "Curious but wary"}, expect=201)
    await api.call("POST", f"/api/programs/{PROGRAM}/checkins", token, {"readiness": 4},
                   expect=201)
    err = await api.call("POST", f"/api/programs/{PROGRAM}/checkins", t["client"],
                         {"readiness": 3}, expect=403)
    assert err["error"]["code"] == "E_FORBIDDEN_ROLE"
    history = await api.call("GET", f"/api/programs/{PROGRAM}/checkins", t["clinician"],
                             expect=200)
    assert [(c["by"], c["readiness"]) for c in history] == [("clinician", 2), ("partner", 4)]
    await api.call("GET", f"/api/programs/{PROGRAM}/checkins", token, expect=403)

    clinician = await clinician_in(alongside, "p-ind")
    client = await connect(alongside, t["client"])
    await client.call("join", {})
    await clinician.call("admit", {"participant": "cl-1"})
    await asyncio.sleep(0.3)
    await client.sio.eio.ws.close()  # a network drop, back inside the grace period
    await asyncio.sleep(0.1)
    back = await connect(alongside, t["client"])
    assert (await back.call("join", {}))["you"]["state"] == "admitted"
    await asyncio.sleep(0.2)
    await back.call("leave", {})
    report = await api.call("GET", f"/api/programs/{PROGRAM}/attendance", t["clinician"],
                            expect=200)
    [ind] = [s for s in report["sessions"] if s["session"] == "p-ind"]
    [stay] = [p for p in ind["participants"] if p["id"] == "cl-1"][0]["stays"]
    assert stay["out"] is not None and stay["out"] - stay["in"] >= 0.5  # one merged stay
    weekly = [w for w in report["weekly"] if w["participant"] == "cl-1"]
    assert len(weekly) == 1 and weekly[0]["minutes"] > 0


async def test_secret_is_in_no_log_and_no_store_file(alongside: Harness, api: Api,
                                                     caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"]))["url"])
    await api.respond(secret, "consent", expect=200)
    await api.respond(secret, "consent", expect=410)
    db = Path(alongside.settings.store.removeprefix("sqlite:///"))
    files = [f for f in (db, db.with_name(db.name + "-wal")) if f.exists()]
    blob = b"".join(await asyncio.gather(*(asyncio.to_thread(f.read_bytes) for f in files)))
    assert secret.encode() not in blob
    assert secret not in "\n".join(r.getMessage() + str(getattr(r, "fields", ""))
                                   for r in caplog.records)
