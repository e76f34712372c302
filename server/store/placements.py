"""Where each group room's media lives: one ``("sfu-placement", <SFU room>)`` document per
SFU room, naming the SFU instance that holds it (its URL) and how many times it moved.

Another node, or this one after a restart, reads it to use the instance the room is on
rather than placing it again. Documents are filed under the pseudo-program ``*`` (like the
webhook outboxes), so :meth:`Placements.all` finds them without an index document.
Each placement and move is written with one content-free audit row (``sfu-placed`` /
``sfu-moved``, target the instance's position in the configured list, never its URL).

Note: a placement outlives its room (nothing deletes documents); a stale one names an
instance that a later use checks is alive before trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.audit import AuditEntry
from server.store.protocol import Doc, Key, Store

KIND = "sfu-placement"
PROGRAM = "*"


def key(sfu_room: str) -> Key:
    return (KIND, sfu_room)


@dataclass(frozen=True, slots=True)
class Placement:
    room: str  # the SFU room key (an Alongside room id, or a breakout's)
    instance: str  # the instance's URL
    moves: int = 0  # how many times it was made again on another instance


class Placements:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, sfu_room: str) -> Placement | None:
        doc = await self.store.read(key(sfu_room))
        return None if doc is None else _placement(doc)

    async def all(self) -> list[Placement]:
        return [_placement(d) for d in await self.store.list(KIND, PROGRAM)]

    async def place(self, sfu_room: str, instance: str, index: int,
                    room: str) -> Placement:
        """Record that ``sfu_room`` lives on ``instance`` (position ``index`` in the list);
        a move when it was recorded elsewhere before. ``room`` is the Alongside room, for
        the audit row."""
        k = key(sfu_room)

        def write(docs: dict[Key, Doc | None]) -> Placement:
            old = docs[k]
            moves = int(old.get("moves", 0)) if old else 0
            if old is not None and old.get("instance") != instance:
                moves += 1
            docs[k] = {"id": sfu_room, "program": PROGRAM, "instance": instance,
                       "moves": moves}
            return Placement(sfu_room, instance, moves)

        before = await self.store.read(k)
        moving = before is not None and before.get("instance") != instance
        action = "sfu-moved" if moving else "sfu-placed"
        audit = AuditEntry(actor="server", role="system", action=action,
                           target=f"sfu-{index}", room=room)
        return await self.store.transact([k], write, audit)


def _placement(doc: Doc) -> Placement:
    return Placement(str(doc["id"]), str(doc.get("instance", "")), int(doc.get("moves", 0)))
