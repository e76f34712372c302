"""The Janus server, the group room and the aiortc members that the group tests share.

Janus runs natively on a generated config (``devtools/janus.py``); nothing is skipped: without
``janus`` the fixture installs it (``scripts/setup.sh --test``) or fails. A :class:`Member` is
a real socket.io client (``tests/peers.py``) with the aiortc connections of
``devtools/sfu_member.py``, signaled only through Alongside's ``sfu.*`` events. A test module
imports the fixtures it uses by name (``janus``, ``group``, ``members``); tests/test_group_sfu.py
imports them all again, so older imports from there still work.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import janus as janus_tools
from devtools.janus import JanusConfig, JanusServer
from devtools.sfu_member import SfuMember, SmallVideo
from tests.conftest import Harness
from tests.peers import Peer

__all__ = ["GROUP", "PLAYING_VIDEOS", "JanusServer", "Member", "SmallVideo",
           "everything_received", "group", "janus", "knock", "members"]

ROOT = Path(__file__).resolve().parent.parent
GROUP = "room-group"

# At least ``n`` remote videos of the page are really playing.
PLAYING_VIDEOS = """(n) => [...document.querySelectorAll("figure[data-peer] video")]
    .filter((v) => v.videoWidth > 0 && !v.paused && v.readyState >= 2 && v.srcObject
        && v.srcObject.getVideoTracks().some((t) => t.readyState === "live")).length >= n"""


@pytest.fixture(scope="module")
def janus() -> Iterator[JanusServer]:
    if not janus_tools.installed():
        subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--test"], check=True)
    assert janus_tools.installed(), "janus is missing and scripts/setup.sh --test did not install it"
    with JanusServer() as server:
        yield server


@pytest.fixture
async def group(start_server: Any, janus: JanusServer) -> Harness:
    """A server using ``janus``, with a group room in prog-1."""
    h: Harness = await start_server(janus_urls=(janus.url,),
                                    janus_api_secret=janus.config.api_secret,
                                    janus_admin_key=janus.config.admin_key)
    await h.create_room(GROUP, "group")
    return h


class Member(SfuMember):
    """One person in a group room: their :class:`Peer`, their publication, a connection per
    feed. Every ``sfu.offer`` and the ``sfu.publish`` ack are kept in ``peer.received`` with
    the rest (privacy checks scan it); ``frames[feed]`` resolves with the first video frame
    received from that feed."""

    def __init__(self, peer: Peer, pid: str) -> None:
        super().__init__(peer.sio, pid)
        self.peer = peer

    def note(self, event: str, data: Any) -> None:
        self.peer.received.append((event, data))  # a handler of its own skips Peer's "*"

    async def close(self) -> None:
        await super().close()
        await self.peer.close()


@pytest.fixture
async def members() -> AsyncIterator[list[Member]]:
    made: list[Member] = []
    yield made
    await asyncio.gather(*(m.close() for m in made))


async def knock(h: Harness, made: list[Member], role: str, pid: str, name: str = "",
                room: str = GROUP) -> Member:
    """``pid`` in ``room`` under ``name`` (default: ``pid`` titled): the agreement (a
    member), then join."""
    name = name or pid.title()
    peer = await h.peer(role, sub=pid, room=room, name=name, join=False)
    if role == "client":  # a member accepts the group agreement first (test_group_agreement.py)
        accepted = await peer.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                        "alias": name})
        assert accepted["ok"], accepted
    joined = await peer.call("join", {})
    assert joined["ok"], joined
    peer.join_ack = joined  # type: ignore[attr-defined]
    member = Member(peer, pid)
    made.append(member)
    return member


def everything_received(member: Member) -> str:
    return json.dumps([(e, d) for e, d in member.peer.received], default=str)


@pytest.fixture
def two_janus() -> Iterator[tuple[JanusServer, JanusServer]]:
    """Two Janus instances sharing one API secret and admin key (one pool), each on its own
    ports: for placement, failover and a group on two app nodes."""
    assert janus_tools.installed(), "janus is missing (scripts/setup.sh --test installs it)"
    first = JanusConfig()
    a = JanusServer(first)
    b = JanusServer(JanusConfig(api_secret=first.api_secret, admin_key=first.admin_key))
    a.start()
    try:
        b.start()
        try:
            yield a, b
        finally:
            b.close()
    finally:
        a.close()
