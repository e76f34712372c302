"""The group agreement: who must accept it, the alias a member chooses, and the record.

A member of a ``group`` room (role ``client``) accepts the group's agreement
(confidentiality, no recording) before their knock reaches the lobby, and chooses the name
the group sees: a first name or an alias. Clinicians need no agreement (their duty of
confidentiality is their profession's) and keep their token's name.

Caveat: an acceptance belongs to one room (one group session): a member accepts again at
the next session, which is also when groups usually restate their ground rules. A text
that changed since (a new ``version``) must be accepted again only at the next session.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from server.domain.identity import Identity, Role, RoomKind
from server.domain.program import Program
from server.domain.text import LINE_PATTERN
from server.errors import Code, Refused

ALIAS_MAX = 40  # characters, after NFC and trimming
_LINE = re.compile(LINE_PATTERN)


def needs_agreement(kind: RoomKind, who: Identity) -> bool:
    """Whether ``who`` must accept the group agreement before knocking on a ``kind`` room."""
    return kind is RoomKind.GROUP and who.role is Role.CLIENT


def reads_program(program: Program | None, who: Identity) -> bool:
    """Whether ``who`` may read the room's program (its client or one of its clinicians):
    a group page asks for the program panel only then, as REST would refuse the others."""
    if program is None:
        return False
    return program.client.id == who.id if who.role is Role.CLIENT else \
        who.role is Role.CLINICIAN and program.is_clinician(who.id)


def suggested_alias(name: str) -> str:
    """The first word of the token's name, as the alias field's starting value."""
    words = name.split()
    return words[0][:ALIAS_MAX] if words else ""


def alias_of(text: str) -> str:
    """The alias ``text`` names: NFC, trimmed, 1 to :data:`ALIAS_MAX` characters, on one line
    with no control, bidi or zero-width character; else ``E_ALIAS_INVALID``."""
    alias = unicodedata.normalize("NFC", text).strip()
    if not alias or len(alias) > ALIAS_MAX or not _LINE.match(alias):
        raise Refused(Code.ALIAS_INVALID)
    return alias


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One member's accepted agreement in one room: the version read (and so its locale),
    when, and the alias chosen. The alias is shown to the group; it is never audited."""

    room: str
    program: str
    participant: str
    version: str
    locale: str
    alias: str
    at: float

    def as_dict(self) -> dict[str, Any]:
        """The stored document; the store keeps its own ``version`` (the document's
        revision), so the text's version is stored as ``agreement``."""
        data = asdict(self)
        data["agreement"] = data.pop("version")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Acceptance:
        return cls(room=str(data["room"]), program=str(data["program"]),
                   participant=str(data["participant"]), version=str(data["agreement"]),
                   locale=str(data["locale"]), alias=str(data["alias"]), at=float(data["at"]))
