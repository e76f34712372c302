"""The group agreement through a real server and real socket.io members.

A group member who has not accepted the agreement is refused at the door
(``E_AGREEMENT_REQUIRED``) and never reaches the clinician's lobby; one who accepted knocks
under the alias they chose, which is what everyone else's snapshot shows. The acceptance
records the version read (and so its language) in a content-free audit row.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from server import demo
from server.domain.audit import AuditEntry
from tests.cli_server import CliServer, serve
from tests.conftest import Harness, make_settings
from tests.peers import Peer

GROUP = "room-group"


async def _group(h: Harness) -> None:
    await h.create_room(GROUP, "group")


async def _member(h: Harness, sub: str, name: str, **extra: Any) -> Peer:
    return await h.peer("client", sub=sub, name=name, room=GROUP, join=False, **extra)


async def test_a_member_without_the_agreement_is_refused_and_never_reaches_the_lobby(
        alongside: Harness) -> None:
    await _group(alongside)
    clinician = await alongside.peer("clinician", sub="dr-1", room=GROUP)
    sam = await _member(alongside, "sam", "Samuel Ortiz")

    ack = await sam.call("join", {})
    assert ack == {"ok": False, "error": {"code": "E_AGREEMENT_REQUIRED", "message": ack[
        "error"]["message"]}}
    snap = (await clinician.call("snapshot", {}))["room"]
    assert snap["lobby"] == [] and snap["participants"] == []
    # What to read: the text in the token's language (none: English), the alias suggested.
    read = await sam.call("agreement", {})
    assert read["ok"] and read["required"] is True and read["accepted"] is None
    assert read["agreement"]["version"] == "group-agreement-v1-en"
    assert any("record" in p for p in read["agreement"]["paragraphs"])
    assert read["alias"] == "Samuel"
    # Sam is not prog-1's client: the page must not ask for its program panel (a 403).
    assert read["programPanel"] is False
    own = await _member(alongside, "client-1", "Client One")
    assert (await own.call("agreement", {}))["programPanel"] is True
    # A refused knock leaves a refused audit row, content-free.
    rows = await alongside.store.audit_rows(room=GROUP)
    assert any(r.actor == "sam" and r.outcome == "refused:E_AGREEMENT_REQUIRED" for r in rows)


async def test_accepting_lets_the_member_knock_under_their_alias_and_be_admitted(
        alongside: Harness) -> None:
    await _group(alongside)
    clinician = await alongside.peer("clinician", sub="dr-1", name="Dr. Rivera", room=GROUP)
    sam = await _member(alongside, "sam", "Samuel Ortiz")
    lee = await _member(alongside, "lee", "Lee Park")

    done = await sam.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                "alias": "  Sammy "})
    assert done["ok"] and done["alias"] == "Sammy"
    assert done["accepted"]["version"] == "group-agreement-v1-en"
    assert (await lee.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                "alias": "Lee"}))["ok"]
    assert (await sam.call("join", {}))["ok"]
    assert (await lee.call("join", {}))["ok"]
    lobby = await clinician.wait_for("room", lambda d: len(d.get("lobby", [])) == 2)
    assert sorted(p["name"] for p in lobby["lobby"]) == ["Lee", "Sammy"]
    assert all("Ortiz" not in json.dumps(d) for _, d in clinician.received)

    assert (await clinician.call("admit-all", {}))["ok"]
    await sam.wait_for("admitted")
    seen = await lee.wait_for("room", lambda d: any(p["id"] == "sam" for p in d["participants"]))
    assert {p["id"]: p["name"] for p in seen["participants"]} == {"sam": "Sammy",
                                                                   "dr-1": "Dr. Rivera"}
    # The alias is the member's own name for them too, and nobody else's payload holds
    # the token's surname.
    assert seen["you"]["name"] == "Lee"
    assert all("Ortiz" not in json.dumps(d) for _, d in lee.received)
    # Read again: accepted, with the alias chosen.
    again = await sam.call("agreement", {})
    assert again["accepted"]["version"] == "group-agreement-v1-en" and again["alias"] == "Sammy"


async def test_the_version_read_is_recorded_per_locale_and_the_audit_is_content_free(
        alongside: Harness) -> None:
    await _group(alongside)
    ana = await _member(alongside, "ana", "Ana María López", locale="es")
    read = await ana.call("agreement", {})
    assert read["agreement"]["version"] == "group-agreement-v1-es"
    assert read["agreement"]["locale"] == "es"
    assert "grupo" in read["agreement"]["title"]
    english = await ana.call("agreement", {"locale": "en"})
    assert english["agreement"]["version"] == "group-agreement-v1-en"

    done = await ana.call("agreement.accept", {"version": "group-agreement-v1-es",
                                                "alias": "Anita"})
    assert done["accepted"]["locale"] == "es"
    rows = [r for r in await alongside.store.audit_rows(room=GROUP)
            if r.action == "group-agreement"]
    assert len(rows) == 1
    row: AuditEntry = rows[0]
    assert (row.actor, row.role, row.target, row.outcome, row.program) == \
        ("ana", "client", "group-agreement-v1-es", "ok", "prog-1")
    text = json.dumps([r.as_dict() for r in await alongside.store.audit_rows(room=GROUP)])
    assert "Anita" not in text and "López" not in text and "Ana María" not in text


async def test_bad_versions_and_aliases_are_refused_with_their_codes(alongside: Harness) -> None:
    await _group(alongside)
    sam = await _member(alongside, "sam", "Sam")

    async def accept(version: str, alias: str) -> str:
        ack = await sam.call("agreement.accept", {"version": version, "alias": alias})
        assert not ack["ok"]
        return str(ack["error"]["code"])

    assert await accept("group-agreement-v0-en", "Sam") == "E_AGREEMENT_VERSION"
    assert await accept("couples-info-v1-en", "Sam") == "E_AGREEMENT_VERSION"
    assert await accept("group-agreement-v1-en", "   ") == "E_ALIAS_INVALID"
    assert await accept("group-agreement-v1-en", "x" * 41) == "E_ALIAS_INVALID"
    assert await accept("group-agreement-v1-en", "Sam\u202eevil") == "E_ALIAS_INVALID"
    assert await accept("group-agreement-v1-en", "Sam\nLee") == "E_ALIAS_INVALID"
    bad = await sam.call("agreement.accept", {"version": "group-agreement-v1-en"})
    assert bad["error"]["code"] == "E_SCHEMA"
    # Still refused at the door: nothing was recorded.
    assert (await sam.call("join", {}))["error"]["code"] == "E_AGREEMENT_REQUIRED"
    ok = await sam.call("agreement.accept", {"version": "group-agreement-v1-en", "alias": "x" * 40})
    assert ok["ok"] and ok["alias"] == "x" * 40


async def test_clinicians_and_other_rooms_need_no_agreement(alongside: Harness) -> None:
    await _group(alongside)
    clinician = await alongside.peer("clinician", sub="dr-1", room=GROUP, join=False)
    read = await clinician.call("agreement", {})
    assert read["required"] is False
    assert (await clinician.call("join", {}))["ok"]
    refused = await clinician.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                        "alias": "Dr"})
    assert refused["error"]["code"] == "E_INVALID_STATE"
    # A couples room's client knocks as before, with their token's name.
    couples = await alongside.peer("clinician", sub="dr-2", room="room-couples")
    client = await alongside.peer("client", sub="client-1", name="Client Person",
                                  room="room-couples")
    assert client.join_ack["you"]["name"] == "Client Person"  # type: ignore[attr-defined]
    assert couples is not None


async def test_make_run_seeds_a_group_session_whose_links_work_through_its_own_janus(
        tmp_path: Path) -> None:
    """``alongside serve --demo`` with Debian's janus installed: it starts a private Janus,
    prints a clinician's and three members' links, and a member who accepts the agreement is
    admitted and publishes through it; stopping the server stops that Janus."""
    from devtools import janus

    assert janus.installed(), "janus is missing (scripts/setup.sh --test installs it)"
    server = serve(tmp_path, "--demo")
    peers: list[Peer] = []
    janus_pids: list[int] = []
    try:
        await asyncio.to_thread(_printed, server, "family session, client", 20)
        links = server.links()
        assert {"group session, clinician", "group member 1 (Jordan Lee)",
                "group member 2 (María Santos)", "group member 3 (Chris Park)",
                "group member 2 (María Santos), en español",
                "partners-and-family group, clinician", "family session, clinician",
                "family session, client"} <= set(links), server.out()
        clinician = Peer(server.url, links["group session, clinician"].split("#", 1)[1])
        member = Peer(server.url, links["group member 1 (Jordan Lee)"].split("#", 1)[1])
        peers += [clinician, member]
        await clinician.connect()
        await member.connect()
        assert (await clinician.call("join", {}))["ok"]
        read = await member.call("agreement", {})
        assert read["alias"] == "Jordan"
        assert (await member.call("join", {}))["error"]["code"] == "E_AGREEMENT_REQUIRED"
        assert (await member.call("agreement.accept", {
            "version": read["agreement"]["version"], "alias": "Jordan"}))["ok"]
        assert (await member.call("join", {}))["ok"]
        assert (await clinician.call("admit-all", {}))["ok"]
        await member.wait_for("admitted")
        # Group media works: Janus answers (without it this is E_SFU_UNAVAILABLE).
        subscribed = await member.call("sfu.subscribe", {}, timeout=10)
        assert subscribed["ok"], subscribed
        # The partners-and-family group and the family session open for their clinician,
        # and the family session's client is admitted there.
        for who in ("partners-and-family group, clinician", "family session, clinician"):
            peers.append(staff := Peer(server.url, links[who].split("#", 1)[1]))
            await staff.connect()
            assert (await staff.call("join", {}))["ok"], who
        family_client = Peer(server.url, links["family session, client"].split("#", 1)[1])
        peers.append(family_client)
        await family_client.connect()
        assert (await family_client.call("join", {}))["ok"]
        assert (await staff.call("admit-all", {}))["ok"]
        await family_client.wait_for("admitted")
        janus_pids = _janus_children(server.process.pid)
        assert janus_pids, "no janus process under the demo server"
    finally:
        for p in peers:
            await p.close()
        server.stop()
    assert _gone(janus_pids), "the demo's janus outlived the server"


def _printed(server: CliServer, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in server.out() and time.monotonic() < deadline:
        time.sleep(0.05)


def _gone(pids: list[int]) -> bool:
    return all(not Path(f"/proc/{pid}").exists() for pid in pids)


def _janus_children(parent: int) -> list[int]:
    """Janus processes started by ``parent`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except OSError:
            continue
        if int(fields[1]) == parent and name == "janus":
            found.append(int(stat.parent.name))
    return found


def test_without_janus_the_demo_says_group_rooms_need_it_in_one_line(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, 8080)
    assert not settings.janus_urls
    lines = demo.group_links(settings)
    assert len(lines) == 1 and "needs Janus" in lines[0] and "http" not in lines[0]


async def test_a_new_connection_knocks_under_the_alias_accepted_before(alongside: Harness) -> None:
    """A reload or a second device: the acceptance is the server's, so the new socket's
    knock goes through and carries the alias, not the token's name."""
    await _group(alongside)
    clinician = await alongside.peer("clinician", sub="dr-1", room=GROUP)
    first = await _member(alongside, "sam", "Samuel Ortiz")
    assert (await first.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                  "alias": "Sammy"}))["ok"]
    assert (await first.call("join", {}))["ok"]
    await first.close()
    again = await _member(alongside, "sam", "Samuel Ortiz")
    joined = await again.call("join", {})
    assert joined["ok"] and joined["you"]["name"] == "Sammy"
    snap = (await clinician.call("snapshot", {}))["room"]
    assert [p["name"] for p in snap["lobby"]] == ["Sammy"]
