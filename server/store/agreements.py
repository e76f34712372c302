"""Group agreement acceptances over a :class:`Store`: one document per member and room,
written with its content-free audit row (who, which version; never the alias)."""

from __future__ import annotations

from server.domain.audit import AuditEntry
from server.domain.group_agreement import Acceptance
from server.store.protocol import Doc, Key, Store

KIND = "group-agreement"


def key(room: str, participant: str) -> Key:
    # Participant ids are free text from the token; the length prefix keeps two
    # (room, participant) pairs from ever meeting on one key.
    return (KIND, f"{len(room)}:{room}:{participant}")


class Agreements:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, room: str, participant: str) -> Acceptance | None:
        doc = await self.store.read(key(room, participant))
        return None if doc is None else Acceptance.from_dict(doc)

    async def refused(self, audit: AuditEntry) -> None:
        """Record a knock refused for want of an agreement (content-free, like every row)."""
        await self.store.record(audit)

    async def accept(self, acceptance: Acceptance) -> Acceptance:
        """Record ``acceptance`` (replacing an earlier one of the same member and room)."""
        k = key(acceptance.room, acceptance.participant)
        audit = AuditEntry(actor=acceptance.participant, role="client",
                           action="group-agreement", target=acceptance.version,
                           room=acceptance.room, program=acceptance.program)

        def write(docs: dict[Key, Doc | None]) -> None:
            docs[k] = {"id": k[1], **acceptance.as_dict()}
        await self.store.transact([k], write, audit)
        return acceptance
