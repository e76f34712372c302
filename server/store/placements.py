"""Where each group room's media lives, and what any node needs to use it there: one
``("sfu-placement", <SFU room>)`` document per SFU room.

The document names the SFU instance that holds the room (its URL), how many times it moved,
and the SFU's own room (:class:`Engine`: its id, ``secret``, ``pin``) with one
:class:`Seat` per member (their token, the id of their current publication, its m-lines).
The node that makes the room writes it; any node reads it to open its own connections in
the same SFU room, to subscribe its members to feeds published through other nodes, and to
mute or remove a member whose connection is on another node. An app restart reads it too,
and uses the room again while the SFU still has it.

Documents are filed under the pseudo-program ``*`` (like the webhook outboxes), so
:meth:`Placements.all` finds them without an index document. Each placement and move is
written with one content-free audit row (``sfu-placed`` / ``sfu-moved``, target the
instance's position in the configured list, never its URL); seats and the end of a room are
bookkeeping of the SFU's own state and write none (as the webhook outbox's attempts).

Note: the secrets and tokens stay on the server: they are in this document and the SFU's
memory, never in a payload, a log line or an audit row.
Note: a placement outlives its room (nothing deletes documents): :meth:`Placements.end`
marks it ended, and a room that ended is never used again (a later one of the same key is
made afresh).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.audit import AuditEntry
from server.store.protocol import Doc, Key, Store

KIND = "sfu-placement"
PROGRAM = "*"


def key(sfu_room: str) -> Key:
    return (KIND, sfu_room)


@dataclass(frozen=True, slots=True)
class Engine:
    """The SFU's own room: what a node needs to join it, subscribe in it and moderate it."""

    id: str  # the SFU's room id (random)
    secret: str  # the room's secret: destroy, kick, allowed, moderate
    pin: str  # needed to join it
    publishers: int = 16


@dataclass(frozen=True, slots=True)
class Seat:
    """One member at the SFU."""

    token: str = ""  # in the room's allowed list ("": withdrawn, or not yet allowed)
    feed: str = ""  # the SFU's id of their current publication ("": none)
    mids: dict[str, list[str]] = field(default_factory=dict)  # its m-lines, by kind


@dataclass(frozen=True, slots=True)
class Placement:
    room: str  # the SFU room key (an Alongside room id, or a breakout's)
    instance: str  # the instance's URL
    moves: int = 0  # how many times it was made again on another instance
    engine: Engine | None = None
    seats: dict[str, Seat] = field(default_factory=dict)
    ended: bool = False

    @property
    def usable(self) -> bool:
        """Names an SFU room that has not ended: one a node may use."""
        return not self.ended and self.engine is not None


class Lost(Exception):
    """Another node placed the room first; :attr:`current` is what it wrote."""

    def __init__(self, current: Placement | None) -> None:
        self.current = current
        super().__init__("placed meanwhile")


_ANY = object()  # place(): no condition on what the record holds now


class Placements:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, sfu_room: str) -> Placement | None:
        doc = await self.store.read(key(sfu_room))
        return None if doc is None else _placement(doc)

    async def all(self) -> list[Placement]:
        return [_placement(d) for d in await self.store.list(KIND, PROGRAM)]

    async def load(self) -> dict[str, int]:
        """How many rooms not ended each instance holds, placed by every node."""
        counts: dict[str, int] = {}
        for placement in await self.all():
            if not placement.ended:
                counts[placement.instance] = counts.get(placement.instance, 0) + 1
        return counts

    async def place(self, sfu_room: str, instance: str, index: int, room: str,
                    engine: Engine | None = None, expect: object = _ANY) -> Placement:
        """Record that ``sfu_room`` lives on ``instance`` (position ``index`` in the list),
        as the SFU room ``engine`` with no seats yet; a move when a room not ended was
        recorded elsewhere before. ``room`` is the Alongside room, for the audit row.

        With ``expect`` (the engine id read before, ``None`` for none or ended), write only
        if the record still holds that: otherwise raise :class:`Lost` with what another
        node wrote meanwhile (two nodes that saw the same instance die make one room)."""
        k = key(sfu_room)

        def write(docs: dict[Key, Doc | None]) -> Placement:
            old = docs[k]
            live = old is not None and not old.get("ended")
            if expect is not _ANY and _engine_id(old) != expect:
                raise Lost(None if old is None else _placement(old))
            moves = int(old.get("moves", 0)) if old else 0
            if live and old is not None and old.get("instance") != instance:
                moves += 1
            doc: Doc = {"id": sfu_room, "program": PROGRAM, "instance": instance,
                        "moves": moves, "seats": {}}
            if engine is not None:
                doc["engine"] = {"id": engine.id, "secret": engine.secret, "pin": engine.pin,
                                 "publishers": engine.publishers}
            docs[k] = doc
            return _placement(doc)

        before = await self.store.read(k)
        moving = (before is not None and not before.get("ended")
                  and before.get("instance") != instance)
        action = "sfu-moved" if moving else "sfu-placed"
        audit = AuditEntry(actor="server", role="system", action=action,
                           target=f"sfu-{index}", room=room)
        return await self.store.transact([k], write, audit)

    async def seat(self, sfu_room: str, engine_id: str, member: str, seat: Seat | None) -> None:
        """Record ``member``'s seat (``None``: they have none any more) in the SFU room
        ``engine_id``; nothing if the record names another one (the room was made again)."""
        k = key(sfu_room)

        def write(docs: dict[Key, Doc | None]) -> None:
            doc = docs[k]
            if doc is None or doc.get("ended") or _engine_id(doc) != engine_id:
                return
            seats = doc.setdefault("seats", {})
            if seat is None:
                seats.pop(member, None)
            else:
                seats[member] = {"token": seat.token, "feed": seat.feed,
                                 "mids": {kind: list(m) for kind, m in seat.mids.items()}}
        await self.store.transact([k], write, [])

    async def end(self, sfu_room: str, engine_id: str) -> None:
        """Mark the SFU room ``engine_id`` ended (destroyed on the SFU); nothing if the
        record names another one."""
        k = key(sfu_room)

        def write(docs: dict[Key, Doc | None]) -> None:
            doc = docs[k]
            if doc is not None and _engine_id(doc) == engine_id:
                doc["ended"] = True
        await self.store.transact([k], write, [])


def _engine_id(doc: Doc | None) -> str | None:
    if doc is None or doc.get("ended") or not isinstance(doc.get("engine"), dict):
        return None
    return str(doc["engine"]["id"])


def _placement(doc: Doc) -> Placement:
    raw = doc.get("engine")
    engine = None
    if isinstance(raw, dict):
        engine = Engine(str(raw["id"]), str(raw["secret"]), str(raw["pin"]),
                        int(raw.get("publishers", 16)))
    seats = {str(m): Seat(str(s.get("token", "")), str(s.get("feed", "")),
                          {str(k): [str(x) for x in v] for k, v in s.get("mids", {}).items()})
             for m, s in (doc.get("seats") or {}).items()}
    return Placement(str(doc["id"]), str(doc.get("instance", "")), int(doc.get("moves", 0)),
                     engine, seats, bool(doc.get("ended", False)))
