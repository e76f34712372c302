"""A link to one room for one role: what the partner's other door and a family member's
invitation share.

A clinician makes a link; its secret (256 bits, in the URL's fragment) is shown once and
kept only as its SHA-256; it expires, and opening it trades the secret for a short token to
that room only. Each door adds its own rules (who may be invited, when a link stops
opening) in its own module: ``partner_group.py``, ``family_invite.py``.

Caveat: :func:`check_secret` compares digests in constant time, and answers the same
``E_INVITE_INVALID`` for an unknown link and a wrong secret, so a caller learns nothing of
which links exist.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from server.domain.identity import RoomKind
from server.errors import Code, Refused

if TYPE_CHECKING:
    from server.domain.room import Room

L = TypeVar("L", bound="RoomLink")

TOKEN_HOURS = 4.0  # a token minted on a link lasts one session, never past its link


@dataclass(slots=True, kw_only=True)
class RoomLink:
    """One link to ``room``; each door's record extends it."""

    id: str
    room: str
    secret_hash: str  # SHA-256 of the link's secret; the secret itself is never stored
    created_at: float
    expires_at: float
    created_by: str
    locale: str | None = None
    opened_at: float | None = None  # when the link was last opened (a token was minted)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_secret(link: L | None, secret: str) -> L:
    """``link`` when ``secret`` is its secret, else ``E_INVITE_INVALID``."""
    if link is None or not hmac.compare_digest(link.secret_hash, digest(secret)):
        raise Refused(Code.INVITE_INVALID)
    return link


def check_live(link: RoomLink, now: float) -> None:
    """``E_INVITE_EXPIRED`` once the link's time is up."""
    if now >= link.expires_at:
        raise Refused(Code.INVITE_EXPIRED)


def check_room(room: Room | None, kind: RoomKind) -> Room:
    """``room`` if it exists, is of ``kind`` and has not ended."""
    if room is None:
        raise Refused(Code.ROOM_NOT_FOUND)
    if room.kind is not kind:
        raise Refused(Code.INVALID_STATE, f"Invite to a {kind.value} session.")
    if room.status.value == "ended":
        raise Refused(Code.ROOM_ENDED)
    return room


def attended(room: Room | None, participant: str) -> bool:
    """Whether the person a link seats as ``participant`` was admitted to ``room`` at least
    once (what each door's list shows as attended)."""
    return room is not None and bool(room.attendance.get(participant))


def token_seconds(link: RoomLink, issued: int) -> int:
    """A token's lifetime: one session (:data:`TOKEN_HOURS`), never past the link."""
    return min(int(TOKEN_HOURS * 3600), int(link.expires_at - issued))
