"""Who is calling, and what their role may do.

An :class:`Identity` is built from verified token claims; it is the only thing
the rest of the server knows about a caller. Grants are default-deny: an action
missing from a role's set is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.domain.text import display_name
from server.errors import Code, Refused


class Role(StrEnum):
    CLINICIAN = "clinician"
    CLIENT = "client"
    PARTNER = "partner"
    # A family member invited to a family session: a token the host platform mints with
    # ``role: "family"`` for one family room (docs/groups.md, "Family sessions").
    FAMILY = "family"
    # The host platform's back end: REST only, never a seat in a room.
    INTEGRATOR = "integrator"


class RoomKind(StrEnum):
    INDIVIDUAL = "individual"
    COUPLES = "couples"
    # Media through the SFU (server/sfu/), not peer to peer: see docs/groups.md.
    GROUP = "group"
    # Clinician, client, partner and invited family members; media through the SFU too.
    FAMILY = "family"


SFU_KINDS: frozenset[RoomKind] = frozenset({RoomKind.GROUP, RoomKind.FAMILY})
"""The room kinds whose media goes through the SFU (snapshot ``media: "sfu"``)."""


class Action(StrEnum):
    JOIN = "join"
    SIGNAL = "signal"
    ADMIT = "admit"
    DENY = "deny"
    REMOVE = "remove"
    SEND_BACK = "send-back"
    LOCK = "lock"
    END = "end"


_MEMBER = frozenset({Action.JOIN, Action.SIGNAL})
GRANTS: dict[Role, frozenset[Action]] = {
    Role.CLINICIAN: frozenset(Action),
    Role.CLIENT: _MEMBER,
    Role.PARTNER: _MEMBER,
    Role.FAMILY: _MEMBER,
    Role.INTEGRATOR: frozenset(),
}


def require(role: Role, action: Action) -> None:
    """Refuse unless ``role`` holds ``action``."""
    if action not in GRANTS.get(role, frozenset()):
        raise Refused(Code.FORBIDDEN_ROLE)


LOCALES: tuple[str, ...] = ("en", "es")
"""The locales the pages are written in; server/catalogues.py serves exactly these."""


def locale_of(value: Any) -> str | None:
    """A ``locale`` claim as a supported locale ("es", "es-MX" -> "es"), or None.

    Note: an unknown or malformed value is ignored, never an error: the language is a
    preference, and the page falls back to the browser's languages, then English.
    """
    if not isinstance(value, str) or not 0 < len(value) <= 35:
        return None
    primary = value.split("-")[0].split("_")[0].lower()
    return primary if primary in LOCALES else None


def _text(claims: dict[str, Any], key: str, limit: int, required: bool = True) -> str | None:
    value = claims.get(key)
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Refused(Code.TOKEN_INVALID, f"The token's '{key}' claim is missing or malformed.")
    return value


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller, bound to one program and one room."""

    id: str
    name: str
    role: Role
    program: str
    room: str
    expires_at: float
    room_kind: RoomKind | None = None
    trial: str | None = None  # the invite whose trial pass this partner token carries
    # The language the host platform chose for this person (docs/i18n.md). Only a locale the
    # pages have (LOCALES below) is kept; any other value is dropped, not refused, so a host
    # sending "fr" or "es-MX" still lets the person in, and the page uses the browser's choice.
    locale: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Identity:
        role = _text(claims, "role", 16)
        if role not in Role.__members__.values():
            raise Refused(Code.TOKEN_INVALID, "The token's role is unknown.")
        kind = _text(claims, "room_kind", 16, required=False)
        if kind is not None and kind not in RoomKind.__members__.values():
            raise Refused(Code.TOKEN_INVALID, "The token's room_kind is unknown.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise Refused(Code.TOKEN_INVALID, "The token has no expiry.")
        return cls(
            id=_text(claims, "sub", 128) or "",
            name=display_name(_text(claims, "name", 80) or ""),  # hidden characters dropped
            role=Role(str(role)),
            program=_text(claims, "program", 128) or "",
            # Integrators act on programs over REST and have no room.
            room=_text(claims, "room", 128, required=role != Role.INTEGRATOR.value) or "",
            expires_at=float(exp),
            room_kind=RoomKind(kind) if kind else None,
            trial=_text(claims, "trial", 64, required=False),
            locale=locale_of(claims.get("locale")),
        )
