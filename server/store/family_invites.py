"""Family members' invitation links over a :class:`Store`: one document per link, indexed by
its program (so that its clinicians can list them), each write with its content-free audit
row (who, which link; never the name or the secret)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.domain.audit import AuditEntry
from server.domain.family_invite import FamilyInvite
from server.errors import Code, Refused
from server.store.protocol import Doc, Key, Store

KIND = "family-invite"
T = TypeVar("T")


def key(invite_id: str) -> Key:
    return (KIND, invite_id)


def _doc(invite: FamilyInvite) -> Doc:
    # ``program`` is a field of the link: the store indexes documents by it.
    return {k: getattr(invite, k) for k in FamilyInvite.__dataclass_fields__}


class FamilyInvites:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, invite_id: str) -> FamilyInvite | None:
        doc = await self.store.read(key(invite_id))
        return None if doc is None else FamilyInvite.from_dict(doc)

    async def list(self, program: str) -> list[FamilyInvite]:
        return [FamilyInvite.from_dict(d) for d in await self.store.list(KIND, program)]

    async def create(self, invite: FamilyInvite, audit: AuditEntry) -> FamilyInvite:
        k = key(invite.id)

        def write(docs: dict[Key, Doc | None]) -> None:
            if docs[k] is not None:  # a random id met another: never overwrite a link
                raise Refused(Code.INVALID_STATE)
            docs[k] = _doc(invite)
        await self.store.transact([k], write, audit)
        return invite

    async def update(self, invite_id: str, rule: Callable[[FamilyInvite | None], T],
                     audit: AuditEntry) -> T:
        """Apply ``rule`` to the link (None when there is none) in one write with ``audit``;
        a refusal writes the audit row as refused and changes nothing."""
        k = key(invite_id)

        def write(docs: dict[Key, Doc | None]) -> T:
            found = docs[k]
            invite = None if found is None else FamilyInvite.from_dict(found)
            result = rule(invite)
            if invite is not None:
                docs[k] = _doc(invite)
            return result
        return await self.store.transact([k], write, audit)
