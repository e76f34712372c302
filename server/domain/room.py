"""A session room: seats, the lobby, presence and the clinician's controls.

Every function here mutates a :class:`Room` in place and returns what the
transport must tell people; the store wraps each call in one transaction with
its audit row, so a refusal (:class:`Refused`) leaves the room untouched.

Note: these rules assume the caller holds the room's write for the whole call
(the store guarantees it); none of them awaits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.domain.identity import Action, Identity, Role, RoomKind, require
from server.errors import Code, Refused

FAMILY_MEMBERS = 6  # family members a family session seats besides the client and partner
SEATS: dict[RoomKind, tuple[Role, ...]] = {
    RoomKind.INDIVIDUAL: (Role.CLINICIAN, Role.CLIENT),
    RoomKind.COUPLES: (Role.CLINICIAN, Role.CLIENT, Role.PARTNER),
    RoomKind.GROUP: (Role.CLINICIAN, Role.CLIENT),
    # The program's client and partner, and the family members their tokens name.
    RoomKind.FAMILY: (Role.CLINICIAN, Role.CLIENT, Role.PARTNER, Role.FAMILY),
}
# How many people of one role a room of each kind seats; one, unless listed here. A group
# has a facilitator and a co-facilitator, and its members join with the client role.
CAPACITY: dict[RoomKind, dict[Role, int]] = {
    RoomKind.GROUP: {Role.CLINICIAN: 2, Role.CLIENT: 15},
    RoomKind.FAMILY: {Role.CLINICIAN: 2, Role.FAMILY: FAMILY_MEMBERS},
}


def capacity(kind: RoomKind, role: Role) -> int:
    """How many people with ``role`` a room of ``kind`` seats."""
    return CAPACITY.get(kind, {}).get(role, 1)


class MemberState(StrEnum):
    LOBBY = "lobby"
    ADMITTED = "admitted"


class Presence(StrEnum):
    ONLINE = "online"
    RECONNECTING = "reconnecting"


class RoomStatus(StrEnum):
    OPEN = "open"
    ENDED = "ended"


@dataclass(slots=True)
class Member:
    id: str
    name: str
    role: Role
    state: MemberState
    since: float
    presence: Presence = Presence.ONLINE
    epoch: int = 1
    sid: str | None = None
    grace_until: float | None = None
    renegotiate: bool = True
    trial: str | None = None  # a partner's trial pass (invite id) from their token
    side: str = ""  # "" is the main room; tools may move people to named side rooms
    node: str = ""  # the app process holding their socket (cluster bookkeeping)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value,
                "state": self.state.value, "since": self.since,
                "presence": self.presence.value, "epoch": self.epoch, "sid": self.sid,
                "grace_until": self.grace_until, "renegotiate": self.renegotiate,
                "trial": self.trial, "side": self.side, "node": self.node}


@dataclass(slots=True)
class Room:
    """One session's room. ``session`` names the scheduled or ad hoc session it serves."""

    id: str
    program: str
    kind: RoomKind
    session: dict[str, Any] = field(default_factory=dict)
    status: RoomStatus = RoomStatus.OPEN
    locked: bool = False
    version: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    # participant id -> stays [{"role", "in", "out"}]; a reconnect inside the grace
    # period continues the same stay.
    attendance: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Connection epochs come from one counter per room, so a person who leaves
    # and comes back never repeats an epoch their peers have seen.
    epochs: int = 0
    # Running tools: name -> {"status": running|failed, "state": {...}, "error": code}
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The session record: what finished tools kept (filtered per role when read).
    records: list[dict[str, Any]] = field(default_factory=list)
    # A group's clinician controls (mute, focus, breakouts...): see ``group.py``.
    group: dict[str, Any] = field(default_factory=dict)
    # member id -> how many writes of this room changed nothing they are shown; their
    # snapshot's version is ``version - quiet`` (see ``view.py``).
    quiet: dict[str, int] = field(default_factory=dict)
    # Not stored: the members whose snapshot the last write changed (None: unknown,
    # so everyone), set by the store's update for the delivery that follows it.
    shown_to: frozenset[str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 128 or not self.program:
            raise ValueError("a room needs an id of at most 128 characters and a program")
        self.kind = RoomKind(self.kind)

    # -- serialisation (the store keeps rooms as JSON) --------------------------------
    def to_dict(self) -> dict[str, Any]:
        # Written out by hand: dataclasses.asdict deep-copies recursively and was
        # the largest cost of a join in the benchmark's profile.
        return {
            "id": self.id, "program": self.program, "kind": self.kind.value,
            "session": dict(self.session), "status": self.status.value, "locked": self.locked,
            "version": self.version,
            "members": {mid: m.to_dict() for mid, m in self.members.items()},
            "removed": sorted(self.removed),
            "attendance": {pid: [dict(s) for s in stays]
                           for pid, stays in self.attendance.items()},
            "epochs": self.epochs, "tools": dict(self.tools), "records": list(self.records),
            "quiet": dict(self.quiet), "group": dict(self.group),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Room:
        members = {
            mid: Member(**{**m, "role": Role(m["role"]), "state": MemberState(m["state"]),
                           "presence": Presence(m["presence"])})
            for mid, m in data["members"].items()
        }
        return cls(id=data["id"], program=data["program"], kind=RoomKind(data["kind"]),
                   session=data.get("session", {}), status=RoomStatus(data["status"]),
                   locked=data["locked"], version=data.get("version", 0), members=members,
                   removed=set(data["removed"]), attendance=data.get("attendance", {}),
                   epochs=data.get("epochs", 0), tools=data.get("tools", {}),
                   records=data.get("records", []), quiet=data.get("quiet", {}),
                   group=data.get("group", {}))

    # -- queries -----------------------------------------------------------------------
    def admitted(self) -> list[Member]:
        return [m for m in self.members.values() if m.state is MemberState.ADMITTED]

    def lobby(self) -> list[Member]:
        return [m for m in self.members.values() if m.state is MemberState.LOBBY]

    def connected_sids(self) -> list[str]:
        return [m.sid for m in self.members.values() if m.sid]

    def same_side(self, a: Member, b: Member) -> bool:
        return a.side == b.side

    def clinician_present(self) -> bool:
        return any(m.role is Role.CLINICIAN and m.presence is Presence.ONLINE
                   for m in self.admitted())


@dataclass(slots=True)
class Notice:
    """Something to tell one connection: ``event`` with ``payload`` to ``sid``.

    ``close`` asks the transport to disconnect that socket afterwards.
    """

    sid: str
    event: str
    payload: dict[str, Any]
    close: bool = False


@dataclass(slots=True)
class Change:
    """What a rule changed, for the transport to deliver."""

    notices: list[Notice] = field(default_factory=list)
    presence: list[tuple[str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # session.started / session.ended
    member: Member | None = None


def _arrive(room: Room, member: Member, now: float) -> None:
    """Open a stay, or continue the open one (a reconnect inside the grace period)."""
    stays = room.attendance.setdefault(member.id, [])
    if stays and stays[-1].get("dropped"):
        stays[-1]["out"] = None
        stays[-1].pop("dropped")
    elif not stays or stays[-1]["out"] is not None:
        stays.append({"role": member.role.value, "name": member.name, "in": now, "out": None})


def _depart(room: Room, member: Member, now: float, dropped: bool = False) -> None:
    """Close the open stay; a drop closes it tentatively at the time of the drop."""
    stays = room.attendance.get(member.id)
    if not stays or (stays[-1]["out"] is not None and not stays[-1].get("dropped")):
        return
    if stays[-1].get("dropped") and not dropped:
        stays[-1].pop("dropped")  # the grace ran out: the stay ended at the drop
        return
    stays[-1]["out"] = now
    if dropped:
        stays[-1]["dropped"] = True


def partner_may_knock(kind: RoomKind) -> bool:
    """Whether a partner may ever knock on a room of ``kind``: one with a partner's seat, or
    an individual session (once approved, :func:`check_entry`); never a group."""
    return Role.PARTNER in SEATS[kind] or kind is RoomKind.INDIVIDUAL


def check_entry(room: Room, who: Identity, partner_approved: bool = False) -> None:
    """The handshake's checks: may this identity connect to this room at all.

    An approved partner may also knock on an individual session, which the
    clinician can turn into a couples session by admitting them (never on a group).
    """
    if room.program != who.program:
        raise Refused(Code.FORBIDDEN_ROOM)
    if room.status is RoomStatus.ENDED:
        raise Refused(Code.ROOM_ENDED)
    if who.id in room.removed:
        raise Refused(Code.REMOVED)
    knocks_on_individual = (who.role is Role.PARTNER and partner_approved
                            and room.kind is RoomKind.INDIVIDUAL)
    if who.role not in SEATS[room.kind] and not knocks_on_individual:
        raise Refused(Code.ROLE_NOT_IN_ROOM_KIND)


def join(room: Room, who: Identity, sid: str, renegotiate: bool, now: float,
         partner_approved: bool = False, node: str = "") -> Change:
    """Enter the room (clinician) or knock (everyone else).

    A person coming back within the grace period keeps their state; a second
    connection of the same person supersedes the first.
    """
    require(who.role, Action.JOIN)
    check_entry(room, who, partner_approved)
    change = expire(room, now)
    member = room.members.get(who.id)
    if member is None:
        seated = sum(1 for m in room.members.values() if m.role is who.role)
        if seated >= capacity(room.kind, who.role):
            raise Refused(Code.ROOM_FULL)
        if room.locked and who.role is not Role.CLINICIAN:
            raise Refused(Code.ROOM_LOCKED)
        state = MemberState.ADMITTED if who.role is Role.CLINICIAN else MemberState.LOBBY
        if who.role is Role.CLINICIAN and "started_at" not in room.session:
            room.session["started_at"] = now
            change.events.append("session.started")
        member = Member(id=who.id, name=who.name, role=who.role, state=state, since=now)
        room.members[who.id] = member
    else:
        if member.sid and member.sid != sid:
            change.notices.append(Notice(member.sid, "superseded", {}, close=True))
        member.name = who.name
    room.epochs += 1
    member.epoch = room.epochs
    member.sid = sid
    member.node = node
    member.presence = Presence.ONLINE
    member.grace_until = None
    member.renegotiate = renegotiate
    member.trial = who.trial
    if member.state is MemberState.ADMITTED:
        change.presence.append((member.id, "joined"))
        _arrive(room, member, now)
    change.member = member
    return change


def leave(room: Room, who_id: str, sid: str, now: float, strict: bool = True) -> Change:
    """Leave on purpose: the seat is freed at once.

    Only the person's current connection can leave for them: a superseded tab
    closing must not take the new one out. ``strict=False`` makes that a no-op
    instead of a refusal (used for socket goodbyes).
    """
    member = room.members.get(who_id)
    if member is None or member.sid != sid:
        if strict:
            raise Refused(Code.NOT_JOINED)
        return Change()
    del room.members[who_id]
    change = Change()
    if member.state is MemberState.ADMITTED:
        change.presence.append((member.id, "left"))
        _depart(room, member, now)
    return change


def drop(room: Room, who_id: str, sid: str, now: float, grace: float) -> Change:
    """A connection was lost without a goodbye: keep the place for ``grace`` seconds.

    A drop of a connection that was already superseded changes nothing.
    """
    member = room.members.get(who_id)
    if member is None or member.sid != sid:
        return Change()
    member.sid = None
    member.presence = Presence.RECONNECTING
    member.grace_until = now + grace
    change = Change()
    if member.state is MemberState.ADMITTED:
        change.presence.append((member.id, "reconnecting"))
        _depart(room, member, now, dropped=True)
    return change


def expire(room: Room, now: float) -> Change:
    """Let go of everyone whose grace period has run out."""
    change = Change()
    for member in list(room.members.values()):
        if member.grace_until is not None and member.grace_until <= now:
            del room.members[member.id]
            if member.state is MemberState.ADMITTED:
                change.presence.append((member.id, "left"))
                _depart(room, member, now)
    return change


def _target(room: Room, target: str) -> Member:
    member = room.members.get(target)
    if member is None:
        raise Refused(Code.UNKNOWN_PARTICIPANT)
    return member


def _control(room: Room, actor: Identity, action: Action) -> None:
    require(actor.role, action)
    if room.status is RoomStatus.ENDED:
        raise Refused(Code.ROOM_ENDED)


def admit(room: Room, actor: Identity, target: str, now: float) -> Change:
    """Let someone in. Admitting a partner into an individual session makes it a
    couples session: the clinician chose to, mid-session."""
    _control(room, actor, Action.ADMIT)
    member = _target(room, target)
    if member.state is not MemberState.LOBBY:
        raise Refused(Code.INVALID_STATE, "That person is not waiting in the lobby.")
    if member.role not in SEATS[room.kind] and room.kind is RoomKind.INDIVIDUAL:
        room.kind = RoomKind.COUPLES
    return _let_in(room, member, now)


def _let_in(room: Room, member: Member, now: float) -> Change:
    member.state = MemberState.ADMITTED
    _arrive(room, member, now)
    change = Change(presence=[(member.id, "joined")])
    if member.sid:
        change.notices.append(Notice(member.sid, "admitted", {}))
    return change


def admit_all(room: Room, actor: Identity, now: float) -> Change:
    """Let in everyone waiting, in the order they knocked (a group's "admit all").

    Partners are left waiting: each one's consent is checked as they are admitted one by
    one (:func:`server.services.rooms.admit`). Admitting nobody is not an error.
    """
    _control(room, actor, Action.ADMIT)
    change = Change()
    for member in sorted(room.lobby(), key=lambda m: m.since):
        if member.role is Role.PARTNER:
            continue
        one = _let_in(room, member, now)
        change.presence += one.presence
        change.notices += one.notices
    return change


def deny(room: Room, actor: Identity, target: str, reason: str | None) -> Change:
    _control(room, actor, Action.DENY)
    member = _target(room, target)
    if member.state is not MemberState.LOBBY:
        raise Refused(Code.INVALID_STATE, "That person is not waiting in the lobby.")
    del room.members[target]
    change = Change()
    if member.sid:
        change.notices.append(Notice(member.sid, "denied", told(Code.DENIED, reason)))
    return change


def remove(room: Room, actor: Identity, target: str, reason: str | None, now: float) -> Change:
    _control(room, actor, Action.REMOVE)
    member = _target(room, target)
    if member.role is Role.CLINICIAN:
        raise Refused(Code.INVALID_STATE, "The clinician cannot be removed.")
    room.removed.add(target)
    return _send_out(room, member, reason, Code.REMOVED, now)


def evict(room: Room, participant: str, code: Code, now: float) -> Change:
    """Move someone out at once because their access ended (pause, withdrawal,
    revocation). Unlike :func:`remove` it bars nothing: access rules decide."""
    member = room.members.get(participant)
    if member is None:
        return Change()
    return _send_out(room, member, None, code, now)


def told(code: Code, reason: str | None) -> dict[str, str]:
    """What a person denied or moved out is told: a code, which their page words in its own
    language, and the reason only if the clinician typed one (kept as typed). No default
    sentence: English sent as data would show as English on a Spanish page."""
    return {"code": code.value, **({"reason": reason} if reason else {})}


def _send_out(room: Room, member: Member, reason: str | None, code: Code,
              now: float) -> Change:
    del room.members[member.id]
    change = Change()
    if member.state is MemberState.ADMITTED:
        change.presence.append((member.id, "left"))
        _depart(room, member, now)
    if member.sid:
        change.notices.append(Notice(member.sid, "removed", told(code, reason), close=True))
    return change


def send_back(room: Room, actor: Identity, target: str, now: float) -> Change:
    _control(room, actor, Action.SEND_BACK)
    member = _target(room, target)
    if member.state is not MemberState.ADMITTED or member.role is Role.CLINICIAN:
        raise Refused(Code.INVALID_STATE, "That person is not in the session room.")
    member.state = MemberState.LOBBY
    member.since = now
    _depart(room, member, now)
    change = Change(presence=[(member.id, "left")])
    if member.sid:
        change.notices.append(Notice(member.sid, "sent-back", {}))
    return change


def lock(room: Room, actor: Identity, locked: bool) -> Change:
    _control(room, actor, Action.LOCK)
    room.locked = locked
    return Change()


def end(room: Room, actor: Identity, now: float) -> Change:
    """End the session: everyone leaves and the room closes for good."""
    _control(room, actor, Action.END)
    change = Change()
    for member in room.members.values():
        if member.state is MemberState.ADMITTED:
            _depart(room, member, now)
            change.presence.append((member.id, "left"))
        if member.sid:
            # The clinician who ended it keeps the socket long enough to get the ack.
            change.notices.append(Notice(member.sid, "ended", {}, close=member.id != actor.id))
    room.members.clear()
    room.status = RoomStatus.ENDED
    room.session["ended_at"] = now
    change.events.append("session.ended")
    return change
