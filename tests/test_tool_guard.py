"""A plugin cannot freeze the server (issue 13, point 3).

Every call into tool code (``view``, ``wake_at``, ``record``, ``catalog``, as well as
``start`` and ``act``) runs off the event loop within the runner's time limit; a tool that
overruns or raises in any of them is marked failed, signaling keeps flowing, nobody is
disconnected and the session record still answers. Through a live server with the outside
tool package, whose ``sulk`` action makes a later call sleep or raise.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.outside_tool import PROGRAM, ROOM, Room, Serve, plugin_path, served
from tests.peers import Peer

__all__ = ["plugin_path", "served"]

TIME_LIMIT = 2.0  # the runner's limit for one call into a tool (docs/plugins.md)
PROMPT = 1.0  # a relayed offer must arrive this soon, whatever a tool is doing
# Beat pings quickly, so a blocked event loop would drop the sockets within the test.
QUICK_PINGS = {"ALONGSIDE_PING_INTERVAL": "1", "ALONGSIDE_PING_TIMEOUT": "1"}


def failed_with(code: str) -> Any:
    return lambda d: any(t["name"] == "tally" and t["status"] == "failed"
                         and t.get("error") == code for t in d["tools"])


async def after(peer: Peer, mark: int, name: str, predicate: Any,
                timeout: float = 10) -> float:
    """When the first ``name`` event after position ``mark`` matching ``predicate`` arrived
    (the loop's clock, polled every 10 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(e == name and predicate(d) for e, d in peer.received[mark:]):
        assert loop.time() < deadline, f"no matching {name}"
        await asyncio.sleep(0.01)
    return loop.time()


async def acked(call: Any) -> tuple[dict[str, Any], float]:
    """The answer of a call, and when it came."""
    answer = await call
    return answer, asyncio.get_running_loop().time()


async def offers_keep_flowing(sender: Peer, receiver: Peer, to: str,
                              seconds: float) -> list[float]:
    """Relay one offer after another for ``seconds``; how long each took to arrive."""
    loop = asyncio.get_running_loop()
    end, delays, i = loop.time() + seconds, [], 0
    while loop.time() < end:
        i += 1
        sdp = f"v=0\r\ns=probe-{i}\r\n"
        sent = loop.time()
        ack = await sender.call("offer", {"to": to, "sdp": sdp}, timeout=30)
        assert ack["ok"], ack
        await receiver.wait_for("offer", lambda d, sdp=sdp: d["sdp"] == sdp, timeout=30)
        delays.append(loop.time() - sent)
        await asyncio.sleep(0.2)  # pacing, well under the rate limit
    return delays


def still_connected(*peers: Peer) -> None:
    for peer in peers:
        assert peer.sio.connected
        assert not [d for d in peer.events("presence") if d["status"] != "joined"]


async def test_a_view_that_sleeps_fails_the_tool_and_the_room_goes_on(served: Serve) -> None:
    room = Room(served(**QUICK_PINGS).url)
    clinician, client = await room.couple()
    assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
    loop = asyncio.get_running_loop()
    failed = asyncio.ensure_future(after(clinician, len(clinician.received), "tool",
                                         failed_with("E_TOOL_TIMEOUT")))
    gone = asyncio.ensure_future(after(client, len(client.received), "tool",
                                       lambda d: d["tools"] == []))
    began = loop.time()
    # From now on every view of the tally sleeps 5 s (for each person it is computed for).
    sulk = asyncio.ensure_future(acked(clinician.call("tool:act", {
        "tool": "tally", "action": "sulk", "payload": {"in": "view", "seconds": 5}},
        timeout=30)))
    # While the tool's code is stuck (10 s for two people), signaling flows as ever.
    delays = await offers_keep_flowing(client, clinician, "dr", seconds=6)
    assert max(delays) < PROMPT, delays

    answered, answered_at = await sulk
    assert answered["error"]["code"] == "E_TOOL_TIMEOUT"
    assert answered_at - began < TIME_LIMIT + PROMPT
    # Marked failed for everyone within the time limit: the clinician sees why, the
    # client simply stops seeing it.
    assert await failed - began < TIME_LIMIT + PROMPT
    assert await gone - began < TIME_LIMIT + PROMPT
    still_connected(clinician, client)
    # The failed tool is not called again; it can be cleared and started afresh.
    assert (await clinician.call("tool:act", {"tool": "tally", "action": "add"}))[
        "error"]["code"] == "E_TOOL_NOT_RUNNING"
    assert (await clinician.call("tool:stop", {"tool": "tally"}))["ok"]
    assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
    assert (await client.call("snapshot", {}))["ok"]
    await room.close()


async def test_a_wake_time_that_raises_or_hangs_fails_the_tool(served: Serve) -> None:
    room = Room(served(**QUICK_PINGS).url)
    clinician, client = await room.couple()
    loop = asyncio.get_running_loop()
    for sulk, code in (("wake-raise", "E_TOOL_FAILED"), ("wake", "E_TOOL_TIMEOUT")):
        assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
        failed = asyncio.ensure_future(after(clinician, len(clinician.received), "tool",
                                             failed_with(code)))
        began = loop.time()
        # The tool asks for its clock after every change: this one's wake_at misbehaves.
        answer = asyncio.ensure_future(acked(clinician.call("tool:act", {
            "tool": "tally", "action": "sulk", "payload": {"in": sulk, "seconds": 5}},
            timeout=30)))
        delays = await offers_keep_flowing(client, clinician, "dr", seconds=3)
        assert max(delays) < PROMPT, (sulk, delays)
        answered, answered_at = await answer
        assert answered["error"]["code"] == code
        assert answered_at - began < TIME_LIMIT + PROMPT
        assert await failed - began < TIME_LIMIT + PROMPT
        assert (await clinician.call("tool:stop", {"tool": "tally"}))["ok"]
    still_connected(clinician, client)
    await room.close()


async def test_a_record_that_raises_or_hangs_is_marked_and_the_record_answers(
        served: Serve) -> None:
    room = Room(served(**QUICK_PINGS).url)
    await room.create_program()
    clinician, client = await room.couple()
    for sulk in ("record-raise", "record", ""):
        assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
        if sulk:
            assert (await clinician.call("tool:act", {
                "tool": "tally", "action": "sulk",
                "payload": {"in": sulk, "seconds": 5}}))["ok"]
        assert (await clinician.call("tool:stop", {"tool": "tally"}))["ok"]
    loop = asyncio.get_running_loop()
    url = f"{room.url}/api/programs/{PROGRAM}/sessions/{ROOM}/record"
    async with ClientSession() as http:
        for role, sub in (("clinician", "dr"), ("client", "cl")):
            began = loop.time()
            reading = asyncio.ensure_future(http.get(
                url, headers={"Authorization": f"Bearer {room.token(role, sub)}"}))
            # The record's hanging part runs off the loop: the room goes on meanwhile.
            delays = await offers_keep_flowing(client, clinician, "dr", seconds=1)
            assert max(delays) < PROMPT, delays
            async with await reading as r:
                assert r.status == 200 and r.content_type == "application/json"
                body = await r.json()
            assert loop.time() - began < TIME_LIMIT + PROMPT
            raised, hung, fine = body["entries"]
            assert [e["tool"] for e in body["entries"]] == ["tally"] * 3
            assert raised["error"]["code"] == "E_TOOL_FAILED" and "record" not in raised
            assert hung["error"]["code"] == "E_TOOL_TIMEOUT" and "record" not in hung
            assert fine["record"] == {"count": 0} and "error" not in fine
            assert all(e["at"] > 0 for e in body["entries"])
    still_connected(clinician, client)
    await room.close()


@pytest.mark.parametrize(("mode", "code"), [("sleep", "E_TOOL_TIMEOUT"),
                                             ("raise", "E_TOOL_FAILED")])
async def test_a_catalog_that_hangs_or_raises_is_marked_in_the_tools_list(
        served: Serve, mode: str, code: str) -> None:
    room = Room(served(ALONGSIDE_TALLY_CATALOG=mode, **QUICK_PINGS).url)
    clinician, client = await room.couple()
    loop = asyncio.get_running_loop()
    began = loop.time()
    listing = asyncio.ensure_future(acked(clinician.call("tools", {}, timeout=30)))
    delays = await offers_keep_flowing(client, clinician, "dr", seconds=1)
    assert max(delays) < PROMPT, delays
    listed, listed_at = await listing
    assert listed["ok"] and listed_at - began < TIME_LIMIT + PROMPT
    tools = {t["name"]: t for t in listed["available"]}
    assert tools["tally"]["catalog"] is None and tools["tally"]["error"] == code
    # The other tools' catalogs are there; a failed catalog leaves the tool startable.
    assert tools["exercises"]["catalog"] and "error" not in tools["exercises"]
    assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
    still_connected(clinician, client)
    await room.close()


async def test_a_stuck_tool_cannot_take_the_threads_of_the_others(served: Serve) -> None:
    """Each call that overran keeps its thread (Python cannot kill one): a tool whose
    threads are all stuck is refused at once, and every other tool goes on."""
    room = Room(served().url)
    clinician, client = await room.couple()
    loop = asyncio.get_running_loop()
    for _ in range(8):  # each hang sleeps 30 s in its thread, long past the time limit
        began = loop.time()
        started = await clinician.call("tool:start", {"tool": "tally"})
        if not started["ok"]:
            # Once its threads are all held, the tool is refused without waiting.
            assert started["error"]["code"] == "E_TOOL_TIMEOUT", started
            assert loop.time() - began < PROMPT
            break
        hung = await clinician.call("tool:act", {"tool": "tally", "action": "hang"},
                                    timeout=10)
        assert hung["error"]["code"] == "E_TOOL_TIMEOUT"
        assert (await clinician.call("tool:stop", {"tool": "tally"}))["ok"]
    # Another tool in the same room works as ever.
    started = await clinician.call("tool:start", {"tool": "checkin",
                                                  "options": {"phase": "start"}})
    assert started["ok"], started
    answered = await client.call("tool:act", {"tool": "checkin", "action": "answer",
                                              "payload": {"mood": 4, "readiness": 4}})
    assert answered["ok"], answered
    still_connected(clinician, client)
    await room.close()
