"""Consent follows the person, not the link (issue 13, point 9), through the real server:
revoking a partner revokes every link of theirs, and a trial pass ends with its invite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import jwt
import pytest
from aiohttp import ClientSession

from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api, connect, refused_at_handshake, secret_of


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def test_revoking_the_partner_revokes_every_link_of_theirs(
        alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    used = await api.invite(t["clinician"], quota=1)
    token = (await api.respond(secret_of(used["url"]), "consent", expect=200))["token"]
    waiting = await api.invite(t["clinician"], room="p-c2", quota=2)  # still in their inbox

    await api.step(t["clinician"], "revoke")
    # The link waiting in their inbox opens nothing now, and says why.
    secret = secret_of(waiting["url"])
    preview = await api.call("POST", "/api/invites/preview", None, {"secret": secret},
                             expect=200)
    assert preview["status"] == "E_INVITE_REVOKED"
    for decision in ("consent", "not-now", "decline"):
        err = await api.respond(secret, decision, expect=410)
        assert err["error"]["code"] == "E_INVITE_REVOKED"
    links = await api.call("GET", f"/api/programs/{PROGRAM}/invites", t["clinician"],
                           expect=200)
    assert [i["revoked"] for i in links] == [True, True]
    assert await refused_at_handshake(alongside, token) == "E_PARTNER_REVOKED"

    # A new invitation makes a new link; the old pass stays closed after it.
    fresh = await api.invite(t["clinician"])
    again = (await api.respond(secret_of(fresh["url"]), "consent", expect=200))["token"]
    assert await refused_at_handshake(alongside, token) == "E_APPROVAL_REQUIRED"
    partner = await connect(alongside, again)
    assert (await partner.call("join", {}))["you"]["state"] == "lobby"
    rows = await alongside.store.audit_rows(program=PROGRAM)
    assert sum(r.outcome == "refused:E_INVITE_REVOKED" for r in rows) == 3


async def test_a_trial_pass_ends_with_its_invite(alongside: Harness, api: Api) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    link = await api.invite(t["clinician"], expiresInHours=0.001)  # 3.6 s
    answer = await api.respond(secret_of(link["url"]), "consent", expect=200)
    # The token minted on redeeming expires no later than the invite it came from.
    claims = jwt.decode(answer["token"], options={"verify_signature": False})
    assert claims["exp"] <= link["expiresAt"] and answer["expiresAt"] == claims["exp"]
    assert claims["exp"] > time.time()

    # Admitted before the invite expires, the partner is let go when it does, as any
    # connection whose token expires is (the `expired` event, then the socket closes).
    clinician = await connect(alongside, alongside.token(
        "clinician", sub="dr-1", program=PROGRAM, room="p-c1"))
    assert (await clinician.call("join", {}))["ok"]
    partner = await connect(alongside, answer["token"])
    assert (await partner.call("join", {}))["ok"]
    assert (await clinician.call("admit", {"participant": "pa-1"}))["ok"]
    await partner.wait_for("admitted")
    await partner.wait_for("expired", timeout=link["expiresAt"] - time.time() + 2)
    assert time.time() <= link["expiresAt"] + 0.5

    # Once the invite has expired, no token carrying its pass opens the room, even one the
    # host minted to last longer: the server checks the invite itself, at this moment.
    await asyncio.sleep(max(0.0, link["expiresAt"] - time.time()) + 0.05)
    longer = alongside.token("partner", sub="pa-1", program=PROGRAM, room="p-c1", ttl=600,
                             trial=link["id"])
    assert await refused_at_handshake(alongside, longer) == "E_INVITE_EXPIRED"
    rows = await alongside.store.audit_rows(program=PROGRAM)
    assert any(r.action == "connect" and r.outcome == "refused:E_INVITE_EXPIRED" for r in rows)
