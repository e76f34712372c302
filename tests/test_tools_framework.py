"""The tool plugin API end to end, with an outside package installed as a third party would."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.outside_tool import Room, plugin_path, served

__all__ = ["plugin_path", "served"]  # fixtures shared with the other outside-tool tests


async def test_outside_tool_is_discovered_and_views_are_filtered(served: Any) -> None:
    room = Room(served().url)
    clinician, client = await room.couple()
    listed = await client.call("tools", {})
    assert "tally" in [t["name"] for t in listed["available"]]
    assert {"add", "note"} <= set(next(t for t in listed["available"]
                                       if t["name"] == "tally")["actions"])
    refused = await client.call("tool:start", {"tool": "tally"})
    assert refused["error"]["code"] == "E_FORBIDDEN_ROLE"
    started = await clinician.call("tool:start", {"tool": "tally", "options": {"from": 2}})
    assert started["ok"] and started["tools"][0]["view"]["count"] == 2
    await client.call("tool:act", {"tool": "tally", "action": "note",
                                   "payload": {"text": "client-private"}})
    await clinician.call("tool:act", {"tool": "tally", "action": "note",
                                      "payload": {"text": "clinician-private"}})
    added = await client.call("tool:act", {"tool": "tally", "action": "add"})
    assert added["tools"][0]["view"]["count"] == 3
    await clinician.wait_for("tool:added", lambda d: d == {"count": 3})
    # Nothing sent to the client ever carried the clinician's note.
    assert "clinician-private" not in repr(client.received)
    assert "client-private" in repr(clinician.received)
    for bad, code in (({"tool": "nope"}, "E_TOOL_UNKNOWN"),
                      ({"tool": "tally", "action": "fly"}, "E_TOOL_ACTION"),
                      ({"tool": "tally", "action": "tick"}, "E_TOOL_ACTION"),
                      ({"tool": "tally", "action": "add", "payload": "x"}, "E_SCHEMA")):
        event = "tool:act" if "action" in bad else "tool:start"
        assert (await client.call(event, bad))["error"]["code"] == code
    await room.close()


async def test_a_raising_or_hanging_tool_is_isolated(served: Any) -> None:
    room = Room(served().url)
    clinician, client = await room.couple()
    await clinician.call("tool:start", {"tool": "tally"})
    boom = await client.call("tool:act", {"tool": "tally", "action": "boom"})
    assert boom["error"]["code"] == "E_TOOL_FAILED"
    failed = await clinician.wait_for("tool", lambda d: d["tools"]
                                      and d["tools"][0]["status"] == "failed")
    assert failed["tools"][0]["error"] == "E_TOOL_FAILED"
    # The room goes on: signaling still works, and the tool can be started again.
    assert (await client.call("offer", {"to": "dr", "sdp": "v=0\r\n"}))["ok"]
    assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
    hang = await clinician.call("tool:act", {"tool": "tally", "action": "hang"}, timeout=10)
    assert hang["error"]["code"] == "E_TOOL_TIMEOUT"
    assert (await client.call("snapshot", {}))["ok"]
    await room.close()


async def test_timers_fire_and_state_survives_a_restart(served: Any) -> None:
    first = served()
    room = Room(first.url)
    clinician, client = await room.couple()
    await clinician.call("tool:start", {"tool": "tally"})
    await client.call("tool:act", {"tool": "tally", "action": "add"})
    await client.call("tool:act", {"tool": "tally", "action": "note",
                                   "payload": {"text": "kept"}})
    await clinician.call("tool:act", {"tool": "tally", "action": "timer",
                                      "payload": {"seconds": 0.3}})
    rang = await client.wait_for("tool", lambda d: d["tools"][0]["view"]["rang"], timeout=5)
    assert rang["tools"][0]["view"]["count"] == 1
    await room.close()
    first.process.kill()  # SIGKILL mid-exercise
    first.process.wait()
    second = served()
    again = Room(second.url)
    clinician = await again.person("clinician", "dr")
    client = await again.person("client", "cl")
    await clinician.call("admit", {"participant": "cl"})
    listed = await client.call("tools", {})
    [tally] = listed["running"]
    assert tally["view"]["count"] == 1 and tally["view"]["notes"] == {"cl": "kept"}
    await asyncio.sleep(0)
    await again.close()


async def test_a_failed_tool_can_be_cleared_and_clocks_come_from_the_server(served: Any) -> None:
    room = Room(served().url)
    clinician, client = await room.couple()
    await clinician.call("tool:start", {"tool": "tally"})
    await client.call("tool:act", {"tool": "tally", "action": "boom"})
    cleared = await clinician.call("tool:stop", {"tool": "tally"})
    assert cleared["ok"] and cleared["tools"] == [] and cleared["now"] > 0
    listed = await clinician.call("tools", {})
    assert listed["running"] == [] and abs(listed["now"] - __import__("time").time()) < 5
    await room.close()
