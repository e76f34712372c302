"""What Alongside asks of a selective forwarding unit (SFU), whichever engine runs it.

Group rooms send their media through an SFU instead of peer to peer. The realtime layer
talks to it only through :class:`Sfu`, so Janus (``server/sfu/janus.py``) can be replaced by
LiveKit or a newer Janus without touching the events. Everything is named by Alongside's
own ids: ``room`` is the Alongside room id, ``member`` and ``feed`` are member ids (a feed is
the media one member publishes). The engine's own ids, secrets, pins and per-member tokens
stay inside the adapter: no browser ever sees them.

Note: an adapter keeps its engine's connections (sessions, handles) in this process's
memory; the engine's room (which instance, its secrets, each member's token) is recorded in
the store, so every node of a cluster uses the same one, each with its own connections
(:meth:`Sfu.sync` learns what the others did). A room whose engine dies is made again on
another (:mod:`server.sfu.pool`): ``on_moved(room)`` then says that everyone in it must
publish again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

FeedListener = Callable[[str, str], None]
MovedListener = Callable[[str], None]


class SfuUnavailable(Exception):
    """No SFU is configured, or the one configured cannot be reached right now."""


class SfuRefused(Exception):
    """The SFU refused one request (a malformed SDP, an unknown feed...).

    :param reason: the engine's own words, for logs of the operator (never shown to people:
        it may name internal ids).
    """

    def __init__(self, reason: str, code: int = 0) -> None:
        self.reason = reason
        self.code = code
        super().__init__(f"{code}: {reason}")


class Sfu(Protocol):
    """One SFU, as the realtime layer uses it.

    Each call may raise :class:`SfuUnavailable` or :class:`SfuRefused`. Calls for one room
    are serialised by the adapter; a member's calls arrive in order (the caller holds
    their connection's lock).

    ``on_feed(room, member)`` is called when a member's feed comes up (their media reached
    the SFU): only then can others subscribe to it (:meth:`feeds` lists it from then on).

    ``on_moved(room)`` is called when the room was made again on another engine (the one
    holding it died): every publication and subscription in it is gone, and each member
    must publish again (``sfu.republish``); who is admitted does not change.
    """

    on_feed: FeedListener
    on_moved: MovedListener

    async def create_room(self, room: str, publishers: int) -> None:
        """Make the room on the SFU if it has none yet, for at most ``publishers`` feeds."""

    async def destroy_room(self, room: str) -> None:
        """Close the room and every connection in it; nothing if it has none."""

    async def allow(self, room: str, member: str) -> None:
        """Let ``member`` publish and subscribe in ``room`` (a token of their own)."""

    async def forbid(self, room: str, member: str) -> None:
        """Withdraw ``member``'s token: they cannot come back until allowed again."""

    async def join(self, room: str, member: str) -> None:
        """Enter ``room`` as a publisher, without sending media yet (allowed first)."""

    async def publish(self, room: str, member: str, offer: str) -> str:
        """Send ``member``'s media: their SDP ``offer`` in, the SFU's SDP answer out."""

    async def subscribe(self, room: str, member: str, feed: str) -> str:
        """Start receiving ``feed`` for ``member``; returns the SFU's SDP offer.

        One subscription per feed, each its own peer connection (see docs/groups.md).
        """

    async def unsubscribe(self, room: str, member: str, feed: str) -> None:
        """Stop ``member`` receiving ``feed`` (their connection for it closes)."""

    async def answer(self, room: str, member: str, feed: str, sdp: str) -> None:
        """``member``'s SDP answer to the offer of their subscription to ``feed``."""

    async def trickle(self, room: str, member: str, feed: str | None,
                      candidate: dict[str, Any] | None) -> None:
        """One ICE candidate of ``member`` (``None``: gathering is complete) for their
        publication (``feed`` None) or for their subscription to ``feed``."""

    async def leave(self, room: str, member: str) -> list[str]:
        """Close ``member``'s publication and subscriptions. Returns the members whose
        subscription to ``member``'s feed ended with it."""

    async def moderate(self, room: str, member: str, audio: bool, video: bool) -> None:
        """Block (True) or let through ``member``'s published audio and video, at the SFU:
        whatever their client sends, a blocked kind reaches nobody. Remembered, and applied
        again to each later publication; nothing to do until they publish.

        Note: unblocking does not unmute anyone: it only lets through what they send.
        """

    async def kick(self, room: str, member: str) -> list[str]:
        """:meth:`forbid`, then throw ``member`` out; returns as :meth:`leave` does."""

    async def sync(self, room: str) -> None:
        """Learn what other nodes did in ``room``: the feeds published through them, tokens
        withdrawn, the room made again elsewhere (then ``on_moved``). :meth:`feeds` answers
        from what the last call learnt."""

    def feeds(self, room: str) -> list[str]:
        """The members whose feed is up in ``room``: through this node now, through
        another as of the last :meth:`sync`."""

    def subscriptions(self, room: str, member: str) -> list[str]:
        """The feeds ``member`` receives in ``room`` (through this node)."""

    def rooms(self) -> list[str]:
        """The rooms this adapter holds state for."""

    def members(self, room: str) -> list[str]:
        """The members of ``room`` holding a publication or a subscription on this node."""

    async def close(self) -> None:
        """Let go of the connection to the SFU (the rooms on it stay)."""
