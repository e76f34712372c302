"""The client never learns what the partner chose without sharing it (issue 13, point 1).

Through the real server: REST for every step and read the client can make, and the client's
own socket in a live couples session (its ``snapshot`` and every event it is sent).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api, secret_of
from tests.peers import Peer

CLIENT_STEPS = ["request", "pause", "resume", "agree"]
# Steps the client may not take: refused for the role, whatever the partner's state.
NOT_THE_CLIENTS = ["approve", "decline-request", "withdraw", "revoke", "decline", "defer"]
# The partner's own answers, never shared with the client in these histories.
ANSWERS = ["consent", "decline", "defer", "withdraw", "request"]
# The clinician's acts, the same in both histories (their outcomes may differ: the clinician
# may know what the partner chose). Not ``approve``: see the property's docstring.
CLINICIAN_ACTS = ["link", "revoke-link", "revoke", "decline-request"]
SERIAL = itertools.count()


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


@dataclass
class Program:
    """One program of a pair: the client's and clinician's tokens and sockets, the partner's
    latest link and token."""

    id: str
    client: str
    clinician: str
    peers: list[Peer] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    partner: str | None = None
    # The partner's own address: invite look-ups are rate limited per address, and each
    # program's partner is a different person.
    http: ClientSession | None = None

    @property
    def couples(self) -> str:
        return f"{self.id}-c1"


async def call(api: Api, method: str, path: str, token: str | None = None,
               body: Any = None, http: ClientSession | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (http or api.http).request(method, api.h.url + path, json=body,
                                          headers=headers) as r:
        data = await (r.json() if r.content_type == "application/json" else r.text())
        return r.status, data


async def new_program(api: Api, pid: str, serial: int) -> Program:
    h = api.h
    integrator = h.token("integrator", sub="host", program="*", room="-")
    status, _ = await call(api, "POST", "/api/programs", integrator, {
        "id": pid, "client": {"id": "cl-1", "name": "Sam"},
        "clinicians": [{"id": "dr-1", "name": "Dr. Rivera"}],
        "partner": {"id": "pa-1", "name": "Partner"}, "maxTrials": 2, "cooldownDays": 30})
    assert status == 201
    p = Program(id=pid, client=h.token("client", sub="cl-1", name="Sam", program=pid,
                                       room=f"{pid}-c1"),
                clinician=h.token("clinician", sub="dr-1", name="Dr. Rivera", program=pid,
                                  room=f"{pid}-c1"))
    # Loopback is 127.0.0.0/8: each partner calls from an address of their own.
    p.http = ClientSession(connector=TCPConnector(
        local_addr=(f"127.{1 + serial // 250}.{1 + serial % 250}.1", 0)))
    for sid, kind in ((f"{pid}-ind", "individual"), (p.couples, "couples")):
        status, _ = await call(api, "POST", f"/api/programs/{pid}/sessions", p.clinician,
                               {"id": sid, "kind": kind})
        assert status == 201
    # The client is in a live couples session with the clinician throughout.
    clinician, client = Peer(h.url, p.clinician), Peer(h.url, p.client)
    p.peers = [clinician, client]
    await clinician.connect()
    assert (await clinician.call("join", {}))["ok"]
    await client.connect()
    assert (await client.call("join", {}))["ok"]
    assert (await clinician.call("admit", {"participant": "cl-1"}))["ok"]
    await client.wait_for("admitted")
    return p


async def step(api: Api, p: Program, token: str | None, name: str) -> tuple[int, Any]:
    return await call(api, "POST", f"/api/programs/{p.id}/partner/steps", token,
                      {"step": name, "note": "Talked it through.", "share": False})


async def partner_answers(api: Api, p: Program, answer: str | None) -> None:
    """The partner's own answer, unshared, where the partner can give it (refusals are the
    partner's to see, not the client's)."""
    if answer is None:
        return
    if answer in ("consent", "decline", "defer"):
        if not p.links:
            return
        secret = secret_of(p.links[-1]["url"])
        _, preview = await call(api, "POST", "/api/invites/preview", None, {"secret": secret},
                                http=p.http)
        decision = {"consent": "consent", "decline": "decline", "defer": "not-now"}[answer]
        status, data = await call(api, "POST", "/api/invites/respond", None, {
            "secret": secret, "decision": decision, "share": False,
            "documentVersion": preview["couplesInfo"]["version"]}, http=p.http)
        if status == 200 and "token" in data:
            p.partner = data["token"]
    elif p.partner is not None:
        await step(api, p, p.partner, answer)


async def clinician_acts(api: Api, p: Program, act: str) -> None:
    if act == "link":
        status, data = await call(api, "POST", f"/api/programs/{p.id}/invites", p.clinician,
                                  {"room": p.couples, "quota": 2})
        if status == 201:
            p.links.append(data)
    elif act == "revoke-link" and p.links:
        await call(api, "DELETE", f"/api/programs/{p.id}/invites/{p.links[-1]['id']}",
                   p.clinician)
    elif act in ("revoke", "decline-request"):
        await step(api, p, p.clinician, act)


async def client_sees(api: Api, p: Program) -> list[Any]:
    """Everything the client can read now: REST answers, and its socket's snapshot and
    every event it was sent (in order, flushed by the snapshot's round trip)."""
    seen: list[Any] = []
    for path in ("", "/partner", "/sessions", "/approvals", "/invites", "/checkins"):
        seen.append(await call(api, "GET", f"/api/programs/{p.id}{path}", p.client))
    client = p.peers[1]
    seen.append(await client.call("snapshot", {}))
    seen.append(list(client.received))
    client.received.clear()
    return seen


def normalised(value: Any, pid: str) -> Any:
    return json.loads(json.dumps(value).replace(pid, "PROGRAM"))


Event = tuple[str, str | None, str | None]  # (who, what, what in the other history)


async def take(api: Api, p: Program, who: str, what: str | None,
               seen: list[Any]) -> None:
    """One event of a history in program ``p``, then everything the client can read."""
    if who == "partner":
        await partner_answers(api, p, what)
    elif who == "clinician":
        await clinician_acts(api, p, str(what))
    else:
        seen.append(await step(api, p, p.client, str(what)))
    seen.append(await client_sees(api, p))


async def run_pair(api: Api, events: list[Event]) -> tuple[list[Any], list[Any]]:
    """The same history in two fresh programs, but for the partner's answers."""
    n = next(SERIAL)
    a, b = await asyncio.gather(new_program(api, f"priv-{n}-a", 2 * n),
                                new_program(api, f"priv-{n}-b", 2 * n + 1))
    seen_a: list[Any] = []
    seen_b: list[Any] = []
    try:
        for who, what, other in [("client", "agree", None), ("clinician", "link", None),
                                 *events]:
            await asyncio.gather(take(api, a, who, what, seen_a),
                                 take(api, b, who, other if who == "partner" else what, seen_b))
        return normalised(seen_a, a.id), normalised(seen_b, b.id)
    finally:
        for p in (a, b):
            for peer in p.peers:
                await peer.close()
            if p.http is not None:
                await p.http.close()


Round = tuple[str | None, str | None, str, str | None]


def rounds_to_events(rounds: list[Round]) -> list[Event]:
    """Each round: the partner's answer in either history, one step by the client, and
    perhaps an act by the clinician, so that every answer is followed by the client asking."""
    events: list[Event] = []
    for answer_a, answer_b, client_step, act in rounds:
        events.append(("partner", answer_a, answer_b))
        events.append(("client", client_step, None))
        if act is not None:
            events.append(("clinician", act, None))
    return events


EVENTS = st.lists(st.tuples(
    st.sampled_from([*ANSWERS, None]), st.sampled_from([*ANSWERS, None]),
    st.sampled_from(CLIENT_STEPS * 3 + NOT_THE_CLIENTS),  # mostly the client's own steps
    st.one_of(st.none(), st.sampled_from(CLINICIAN_ACTS)),
), min_size=2, max_size=6).map(rounds_to_events)


async def test_histories_differing_only_in_unshared_answers_look_the_same_to_the_client(
        alongside: Harness, api: Api) -> None:
    """For two programs driven by the same client and clinician acts, whose partners give
    different answers without sharing them (consent, decline, not now, withdraw, request,
    each applied where the partner may give it), every answer the client can obtain is the
    same: each step's status and body (its own steps and the ones it may not take), the
    program, partner and sessions reads (and the staff-only reads it is refused), and its
    socket's snapshot of a live couples session and every event it is sent.

    What the histories hold, honestly: the clinician's acts are the same attempts in both
    (new links, revoking a link or the partner, declining a request); their outcomes may
    differ, since the clinician may know what the partner chose. Not the clinician's
    ``approve``: approving opens couples sessions, and the client is told so
    (``couplesSessions``), which is the clinician's act, not the partner's answer; for the
    same reason the end of approved access shows there too. Nor the partner's presence in a
    session: being in the room together is seen by design. The client's page renders only
    these answers (web/program-client.js ``renderClient``), so its text is the same as well.
    """
    loop = asyncio.get_running_loop()

    @settings(max_examples=60, deadline=None, database=None,
              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
    @given(events=EVENTS)
    # The leak reported: the client's request after an unshared consent, or decline.
    @example(events=[("partner", "consent", "decline"), ("client", "request", None),
                     ("partner", "request", None), ("client", "pause", None),
                     ("partner", "withdraw", None), ("client", "resume", None),
                     ("client", "pause", None)])
    def same_to_the_client(events: list[Event]) -> None:
        a, b = asyncio.run_coroutine_threadsafe(run_pair(api, events), loop).result(120)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x == y, f"the client told apart at observation {i}: {x} != {y}"

    # Hypothesis runs in a thread; each history runs on this loop, beside the server.
    await asyncio.to_thread(same_to_the_client)


async def answer_and_request(api: Api, t: dict[str, str], decision: str) -> tuple[Any, Any]:
    secret = secret_of((await api.invite(t["clinician"], quota=2))["url"])
    await api.respond(secret, decision, expect=200, share=False)
    return (await api.step(t["client"], "request", expect=200),
            await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"],
                           expect=200))


@pytest.mark.parametrize("decision", ["consent", "decline"])
async def test_the_clients_request_is_theirs_and_reveals_nothing(
        alongside: Harness, api: Api, decision: str) -> None:
    """The reported leak: 200 after an unshared consent, 409 after an unshared decline, and
    the partner moved to ``requested`` without their knowing."""
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    answer, staff = await answer_and_request(api, t, decision)
    assert answer == {"clientAgreed": True, "paused": False, "couplesSessions": False,
                      "requested": True, "shared": None}
    # The partner's state is the partner's: still what they chose.
    assert staff["state"] == ("consented" if decision == "consent" else "declined")
    # The clinician sees the client's own wish, by the client.
    queue = await api.call("GET", f"/api/programs/{PROGRAM}/approvals", t["clinician"],
                           expect=200)
    assert [r["by"] for r in queue] == ["client"]
    # ... and may decline it whatever the partner chose (the client sees it settled).
    await api.step(t["clinician"], "decline-request", note="Let's talk it through first.")
    seen = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["client"], expect=200)
    assert seen["requested"] is False
    after = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"],
                           expect=200)
    assert after["state"] == staff["state"]


async def test_the_clients_pause_holds_when_the_partner_withdraws_meanwhile(
        alongside: Harness, api: Api) -> None:
    """A withdrawal during the client's pause: the client still sees its pause and resumes
    as ever; nobody re-opens the way (the partner's old link is refused) until it does."""
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"], quota=2))["url"])
    token = (await api.respond(secret, "consent", expect=200))["token"]
    paused = await api.step(t["client"], "pause")
    await api.step(token, "withdraw", share=False)
    assert await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["client"],
                          expect=200) == paused
    err = await api.respond(secret, "consent", expect=409)
    assert err["error"]["code"] == "E_PARTNER_PAUSED"
    assert (await api.step(t["client"], "pause", expect=409))["error"]["code"] == \
        "E_TRANSITION_NOT_ALLOWED"
    resumed = await api.step(t["client"], "resume")
    assert resumed["paused"] is False
    state = (await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"],
                            expect=200))["state"]
    assert state == "withdrawn"


async def test_a_partner_knocking_tells_the_client_nothing(alongside: Harness) -> None:
    """Only the clinician sees the lobby, and a partner can knock only after consenting:
    the client must receive nothing when the partner knocks, and a snapshot the client
    asks for must not show a new version either (the knock is a store write)."""
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    await asyncio.sleep(0.3)
    before = (await client.call("snapshot", {}))["room"]
    mark = len(client.received)
    partner = await alongside.peer("partner")  # knocks
    await clinician.wait_for("room", lambda d: [p["id"] for p in d.get("lobby", [])]
                             == ["partner-1"])
    await asyncio.sleep(0.75)
    assert client.received[mark:] == []
    assert (await client.call("snapshot", {}))["room"] == before
    # What the client may see does reach them: the partner admitted, as the next version.
    assert (await clinician.call("admit", {"participant": "partner-1"}))["ok"]
    await partner.wait_for("admitted")
    snap = await client.wait_for("room", lambda d: any(
        p["id"] == "partner-1" for p in d["participants"]))
    assert snap["version"] == before["version"] + 1
