"""Several Janus instances behind one :class:`~server.sfu.api.Sfu`: placement and failover.

Each SFU room (a group's, or one of its breakouts) is placed on the least loaded live
instance (the fewest rooms not ended there, placed by every node: the store counts them;
the first in the configured order on a tie) and the placement is written to the store
(:mod:`server.store.placements`) with the VideoRoom's id, secret and pin, so another node,
or this one after a restart, uses the same VideoRoom on the same instance (its own handles
in it). Every call for a room goes to its instance.

A watcher checks each instance every :data:`WATCH` seconds: when one dies (its WebSocket
closed, or a request or keepalive timed out and closed it) or comes back as a new session
(Janus restarted: it forgot every handle), the rooms it held are made again on a live
instance, with fresh random ids, secret, pin and tokens (nothing of the dead room is reused),
the placement is updated, and ``on_moved(room)`` tells the realtime layer, which asks every
member to publish again (``sfu.republish``). An instance that restarted and is the room's
own (one Janus alone) gets the same room made again from the record. Two nodes that notice
the same death make one room: the record is replaced only over what each read
(:class:`~server.store.placements.Lost`), and the other node adopts it (:meth:`sync`). Admission is Alongside's, not Janus's: nobody is
admitted again. With no instance alive, calls raise :class:`SfuUnavailable`
(``E_SFU_UNAVAILABLE``) and the rooms move as soon as one answers again.

Note: "least loaded" counts rooms, not Janus's own load (streams, CPU); a room left behind
by a crash (never ended) counts until its record is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from server.domain.group import parent
from server.logs import log_event
from server.sfu.api import FeedListener, MovedListener, SfuRefused, SfuUnavailable
from server.sfu.janus import JanusSfu, fresh_engine
from server.store.placements import Lost, Placement, Placements

WATCH = 0.5  # seconds between checks of each instance
PROBE_TIMEOUT = 2.0  # seconds to wait for an instance that is down to answer again

T = TypeVar("T")


@dataclass
class _Placed:
    index: int  # which instance
    session: int  # its session id when the room was placed there


class SfuPool:
    """:class:`JanusSfu` instances, one per URL, with placement and failover.

    :param instances: the adapters, one per Janus instance, in the configured order.
    :param placements: where placements are recorded (``None``: in memory only).
    """

    def __init__(self, instances: Sequence[JanusSfu], placements: Placements | None = None,
                 watch: float = WATCH) -> None:
        if not instances:
            raise ValueError("a pool needs at least one instance")
        self.instances = list(instances)
        self.placements = placements
        self.watch = watch
        self.on_feed: FeedListener = lambda room, member: None
        self.on_moved: MovedListener = lambda room: None
        for instance in self.instances:
            # Late-bound: the realtime layer sets the pool's listener after construction.
            instance.on_feed = lambda room, member: self.on_feed(room, member)
        self._placed: dict[str, _Placed] = {}
        self._placing = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False

    # -- placement -------------------------------------------------------------------
    def load(self, index: int) -> int:
        """The rooms this node placed on instance ``index``."""
        return sum(1 for p in self._placed.values() if p.index == index)

    def placed(self, room: str) -> str | None:
        """The URL of the instance ``room`` is placed on, if it is."""
        where = self._placed.get(room)
        return self.instances[where.index].urls[0] if where else None

    async def _probe(self) -> None:
        """Try to connect each instance that is down, together (a refused port fails at
        once; a black hole waits :data:`PROBE_TIMEOUT`)."""
        async def one(instance: JanusSfu) -> None:
            with contextlib.suppress(SfuUnavailable, TimeoutError):
                await asyncio.wait_for(instance.connect(), PROBE_TIMEOUT)
        await asyncio.gather(*(one(i) for i in self.instances if not i.alive))

    def _current(self, room: str) -> JanusSfu | None:
        """The instance holding ``room`` if it is still the session it was placed on."""
        where = self._placed.get(room)
        if where is None:
            return None
        instance = self.instances[where.index]
        return instance if instance.session_id == where.session else None

    async def _for(self, room: str) -> JanusSfu:
        """The instance for ``room``: where it is placed, or placed now (or moved now, when
        its instance died). Raises :class:`SfuUnavailable` when none is alive."""
        self._watching()
        current = self._current(room)
        if current is not None:
            return current
        async with self._placing:
            current = self._current(room)
            if current is not None:
                return current
            moved = room in self._placed
            await self._place(room)
            current = self._current(room)
            assert current is not None
        if moved:
            self.on_moved(room)
        return current

    async def _place(self, room: str) -> None:
        """Place (or move) ``room`` on the least loaded live instance; the caller holds
        ``_placing``."""
        await self._probe()
        live = [i for i, inst in enumerate(self.instances) if inst.alive]
        if not live:
            raise SfuUnavailable("no Janus instance answers")
        old = self._placed.pop(room, None)
        if old is not None:
            self.instances[old.index].forget(room)  # its handles died with the session
        if self.placements is None:
            index = min(live, key=lambda i: (self.load(i), i))
        else:
            index = await self._recorded(room, live)
        instance = self.instances[index]
        self._placed[room] = _Placed(index, instance.session_id)
        log_event("sfu.placed" if old is None else "sfu.moved", logging.INFO,
                  instance=str(index))

    async def _recorded(self, room: str, live: list[int]) -> int:
        """Where ``room`` is, from the shared record: the VideoRoom recorded there if its
        instance is live (another node's, or this one's before a restart), else a new one
        on the least loaded live instance, recorded over what was read."""
        assert self.placements is not None
        urls = [inst.urls[0] for inst in self.instances]
        known = await self.placements.get(room)
        current = known if known is not None and known.usable else None
        if current is not None and current.instance in urls \
                and urls.index(current.instance) in live:
            index = urls.index(current.instance)
            self.instances[index].adopt(room, current)
            return index
        loads = await self.placements.load()
        index = min(live, key=lambda i: (loads.get(urls[i], 0), i))
        expect = current.engine.id if current is not None and current.engine else None
        placed: Placement | None
        try:
            placed = await self.placements.place(room, urls[index], index, parent(room),
                                                 fresh_engine(), expect=expect)
        except Lost as lost:  # another node placed it meanwhile: that one is the room
            placed = lost.current
            if (placed is None or not placed.usable
                    or placed.instance not in urls or urls.index(placed.instance) not in live):
                raise SfuUnavailable("placed meanwhile where this node reaches no Janus") \
                    from None
            index = urls.index(placed.instance)
        self.instances[index].adopt(room, placed)
        return index

    # -- the watcher -------------------------------------------------------------------
    def _watching(self) -> None:
        if self._watcher is None and not self._closed:
            self._watcher = asyncio.ensure_future(self._watch_forever())

    async def _watch_forever(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.watch)
            try:
                await self.check()
            except Exception as exc:  # keep watching; a bug is logged, by type only
                log_event("sfu.watch_crashed", logging.ERROR, error=type(exc).__name__)

    async def check(self) -> list[str]:
        """Move every room whose instance died (or restarted) to a live one; returns the
        rooms moved. Nothing moves while no instance is alive."""
        lost = [room for room in self._placed if self._current(room) is None]
        moved = []
        for room in lost:
            async with self._placing:
                if self._current(room) is not None:
                    continue
                try:
                    await self._place(room)
                except SfuUnavailable:
                    break  # none alive: the next check tries again
            moved.append(room)
            self.on_moved(room)
        return moved

    async def sync(self, room: str) -> None:
        """Learn what other nodes did in ``room`` (:meth:`JanusSfu.refresh`); when the record
        names another VideoRoom now (another node moved it, or made it again), let go of
        this one and use that one: everyone here publishes again (``on_moved``). When it
        ended through another node, let go of it."""
        instance = self._current(room)
        if instance is None or await instance.refresh(room):
            return
        async with self._placing:
            if self._current(room) is not instance:
                return
            self._placed.pop(room, None)
            await instance.release(room)
            record = await self.placements.get(room) if self.placements else None
            if record is None or not record.usable:
                return
            await self._place(room)
        self.on_moved(room)

    @property
    def _rooms(self) -> dict[str, Any]:
        """What each instance holds of the rooms placed (tests check none of it leaks)."""
        return {room: self.instances[p.index]._rooms[room] for room, p in self._placed.items()
                if room in self.instances[p.index]._rooms}

    # -- the Sfu protocol, routed ------------------------------------------------------
    async def _call(self, room: str, call: Callable[[JanusSfu], Awaitable[T]]) -> T:
        return await call(await self._for(room))

    async def create_room(self, room: str, publishers: int) -> None:
        await self._call(room, lambda i: i.create_room(room, publishers))

    async def destroy_room(self, room: str) -> None:
        where = self._placed.get(room)
        if where is None:
            return
        instance = self.instances[where.index]
        try:
            if instance.session_id == where.session:
                await instance.destroy_room(room)
            else:
                held = instance._rooms.get(room)
                instance.forget(room)
                if held is not None and self.placements is not None:
                    await self.placements.end(room, held.janus_id)  # ended, for every node
        finally:
            # Only now: rooms() lists it until Janus has been told (what a caller waits on).
            if self._placed.get(room) is where:
                del self._placed[room]

    async def allow(self, room: str, member: str) -> None:
        await self._call(room, lambda i: i.allow(room, member))

    async def forbid(self, room: str, member: str) -> None:
        await self._call(room, lambda i: i.forbid(room, member))

    async def join(self, room: str, member: str) -> None:
        await self._call(room, lambda i: i.join(room, member))

    async def publish(self, room: str, member: str, offer: str) -> str:
        return await self._call(room, lambda i: i.publish(room, member, offer))

    async def subscribe(self, room: str, member: str, feed: str) -> str:
        return await self._call(room, lambda i: i.subscribe(room, member, feed))

    async def unsubscribe(self, room: str, member: str, feed: str) -> None:
        instance = self._current(room)
        if instance is not None:
            await instance.unsubscribe(room, member, feed)

    async def answer(self, room: str, member: str, feed: str, sdp: str) -> None:
        await self._call(room, lambda i: i.answer(room, member, feed, sdp))

    async def trickle(self, room: str, member: str, feed: str | None,
                      candidate: dict[str, Any] | None) -> None:
        await self._call(room, lambda i: i.trickle(room, member, feed, candidate))

    async def leave(self, room: str, member: str) -> list[str]:
        instance = self._current(room)
        return await instance.leave(room, member) if instance is not None else []

    async def moderate(self, room: str, member: str, audio: bool, video: bool) -> None:
        await self._call(room, lambda i: i.moderate(room, member, audio, video))

    async def kick(self, room: str, member: str) -> list[str]:
        instance = self._current(room)
        if instance is None:
            return []  # nothing of theirs is up anywhere; Alongside's ban keeps them out
        return await instance.kick(room, member)

    def feeds(self, room: str) -> list[str]:
        instance = self._current(room)
        return instance.feeds(room) if instance is not None else []

    def subscriptions(self, room: str, member: str) -> list[str]:
        instance = self._current(room)
        return instance.subscriptions(room, member) if instance is not None else []

    def rooms(self) -> list[str]:
        return list(self._placed)

    def members(self, room: str) -> list[str]:
        instance = self._current(room)
        return instance.members(room) if instance is not None else []

    async def close(self) -> None:
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for instance in self.instances:
            await instance.close()


__all__ = ["SfuPool", "SfuRefused", "SfuUnavailable"]
