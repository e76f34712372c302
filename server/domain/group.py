"""A group room's clinician controls: mute, ask to unmute, video off, spotlight, focus mode,
breakouts in pairs, and the rule of who receives whom through the SFU.

The state lives in ``Room.group`` (JSON, stored with the room) and is changed only by the
rules below, each run inside one store write with its audit row (as every rule of
``room.py``). What a rule decides, the realtime layer enforces at the SFU: a muted
member's audio m-line is blocked there (VideoRoom ``moderate``), and :func:`sees` is what
the server's reconcile makes the subscriptions match, so a modified client can neither
unmute itself nor receive what focus mode or a breakout withholds.

Note: nobody is ever unmuted by someone else. ``ask-unmute`` only lets the member lift the
block themselves (``group.unmute``); lifting a video block does not turn a camera on.
"""

from __future__ import annotations

from typing import Any

from server.domain.identity import Identity, Role, RoomKind
from server.domain.room import Change, Member, MemberState, Notice, Room, RoomStatus
from server.errors import Code, Refused

MAIN = ""  # where everyone is outside breakouts
SEPARATOR = "|"  # between a room id and a breakout, in the SFU's room key (never sent out)


def _defaults() -> dict[str, Any]:
    return {
        "muted": [],  # audio blocked at the SFU
        "muted_all": False,  # "mute all" was used: members who arrive later are muted too
        "heard": [],  # members who lifted their own block since (asked, then accepted)
        "asked": [],  # asked to unmute: may lift their own block
        "video_off": [],  # video blocked at the SFU
        "spotlight": None,
        "focus": False,
        "video_allowed": [],  # received by peers in focus mode
        "breakouts": [],  # [[a, b], ...]
        "visiting": {},  # clinician id -> breakout index
    }


def state(room: Room) -> dict[str, Any]:
    """The room's group state, with every key present, for a rule to change."""
    for key, value in _defaults().items():
        room.group.setdefault(key, value)
    return room.group


def _read(room: Room) -> dict[str, Any]:
    """The group state for reading only (a view must not change the room)."""
    return {**_defaults(), **room.group}


def _clinician(room: Room, actor: Identity) -> dict[str, Any]:
    if actor.role is not Role.CLINICIAN:
        raise Refused(Code.FORBIDDEN_ROLE)
    if room.status is RoomStatus.ENDED:
        raise Refused(Code.ROOM_ENDED)
    if room.kind is not RoomKind.GROUP:
        raise Refused(Code.INVALID_STATE, "Group controls are for group sessions.")
    return state(room)


def _member(room: Room, target: str) -> Member:
    """An admitted member (client role) of the room: the only ones controls apply to."""
    member = room.members.get(target)
    if member is None:
        raise Refused(Code.UNKNOWN_PARTICIPANT)
    if member.role is Role.CLINICIAN or member.state is not MemberState.ADMITTED:
        raise Refused(Code.INVALID_STATE, "That control is for members in the room.")
    return member


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _drop(items: list[str], item: str) -> None:
    if item in items:
        items.remove(item)


def _tell(change: Change, member: Member, event: str, payload: dict[str, Any]) -> None:
    if member.sid:
        change.notices.append(Notice(member.sid, event, payload))


def is_muted(room: Room, member_id: str) -> bool:
    """Whether ``member_id``'s audio is blocked: muted one by one, or a member (client) after
    "mute all" who has not since lifted their own block, which covers the members admitted
    after it (they are muted from their first packet).

    Note: "mute all" holds for the rest of the session; nobody is unmuted by someone else,
    so there is no "unmute all" (the clinician asks each member instead)."""
    g = _read(room)
    if member_id in g["muted"]:
        return True
    if not g["muted_all"] or member_id in g["heard"]:
        return False
    member = room.members.get(member_id)
    return member is not None and member.role is not Role.CLINICIAN


def _muted_list(room: Room) -> list[str]:
    """Everyone whose audio is blocked: the explicit list, then the later arrivals."""
    g = _read(room)
    later = [m.id for m in room.admitted()
             if m.id not in g["muted"] and is_muted(room, m.id)]
    return list(g["muted"]) + later


def mute(room: Room, actor: Identity, target: str | None) -> Change:
    """Block the audio of one member (``target``) or of every member (None): those now
    admitted, and (``muted_all``) those admitted later, until each lifts their own block."""
    g = _clinician(room, actor)
    people = ([_member(room, target)] if target is not None else
              [m for m in room.admitted() if m.role is not Role.CLINICIAN])
    if target is None:
        g["muted_all"] = True
        g["heard"] = []
    change = Change()
    for member in people:
        _add(g["muted"], member.id)
        _drop(g["asked"], member.id)
        _drop(g["heard"], member.id)
        _tell(change, member, "group.muted", {"audio": True})
    return change


def ask_unmute(room: Room, actor: Identity, target: str) -> Change:
    """Ask a muted member to unmute: nothing changes at the SFU until they accept."""
    g = _clinician(room, actor)
    member = _member(room, target)
    if not is_muted(room, member.id):
        raise Refused(Code.INVALID_STATE, "That person is not muted.")
    _add(g["asked"], member.id)
    change = Change()
    _tell(change, member, "group.ask-unmute", {})
    return change


def unmute_self(room: Room, actor: Identity) -> Change:
    """A member lifts their own audio block, only after the clinician asked."""
    if room.kind is not RoomKind.GROUP:
        raise Refused(Code.INVALID_STATE, "Group controls are for group sessions.")
    g = state(room)
    if not is_muted(room, actor.id):
        return Change()  # not blocked: unmuting is the client's own business
    if actor.id not in g["asked"]:
        raise Refused(Code.MUTED_BY_CLINICIAN)
    _drop(g["muted"], actor.id)
    _drop(g["asked"], actor.id)
    if g["muted_all"]:
        _add(g["heard"], actor.id)
    return Change()


def video_off(room: Room, actor: Identity, target: str, off: bool) -> Change:
    """Block (``off``) or unblock one member's video at the SFU."""
    g = _clinician(room, actor)
    member = _member(room, target)
    (_add if off else _drop)(g["video_off"], member.id)
    change = Change()
    _tell(change, member, "group.video", {"off": off})
    return change


def spotlight(room: Room, actor: Identity, target: str | None) -> Change:
    """Put one admitted person (a clinician too) in the spotlight, or nobody (None)."""
    g = _clinician(room, actor)
    if target is not None:
        person = room.members.get(target)
        if person is None:
            raise Refused(Code.UNKNOWN_PARTICIPANT)
        if person.state is not MemberState.ADMITTED:
            raise Refused(Code.INVALID_STATE, "That person is not in the session room.")
    g["spotlight"] = target
    change = Change()
    for member in room.admitted():
        _tell(change, member, "group.spotlight", {"participant": target})
    return change


def focus(room: Room, actor: Identity, on: bool) -> Change:
    """Focus mode: members receive the clinicians only, and members allowed to be seen."""
    g = _clinician(room, actor)
    g["focus"] = on
    change = Change()
    for member in room.admitted():
        _tell(change, member, "group.focus", {"on": on})
    return change


def allow_video(room: Room, actor: Identity, target: str, allowed: bool) -> Change:
    """Whether one member is received by their peers in focus mode."""
    g = _clinician(room, actor)
    member = _member(room, target)
    (_add if allowed else _drop)(g["video_allowed"], member.id)
    change = Change()
    _tell(change, member, "group.allow-video", {"allowed": allowed})
    return change


def breakout(room: Room, actor: Identity, pairs: list[list[str]]) -> Change:
    """Send members to practise in pairs, each pair in a breakout of its own."""
    g = _clinician(room, actor)
    if g["breakouts"]:
        raise Refused(Code.INVALID_STATE, "Breakouts are running: end them first.")
    seen: set[str] = set()
    for pair in pairs:
        for target in pair:
            if target in seen:
                raise Refused(Code.SCHEMA, "Each person may be in one pair only.")
            seen.add(target)
            _member(room, target)
    g["breakouts"] = [list(pair) for pair in pairs]
    g["visiting"] = {}
    change = Change()
    for index, pair in enumerate(pairs):
        for target in pair:
            _tell(change, room.members[target], "group.breakout",
                  {"breakout": index, "with": [p for p in pair if p != target]})
    return change


def breakout_end(room: Room, actor: Identity) -> Change:
    """Everybody back to the main room, with one action."""
    g = _clinician(room, actor)
    was = {m for pair in g["breakouts"] for m in pair} | set(g["visiting"])
    g["breakouts"] = []
    g["visiting"] = {}
    change = Change()
    for target in was:
        member = room.members.get(target)
        if member is not None:
            _tell(change, member, "group.breakout", {"breakout": None, "with": []})
    return change


def visit(room: Room, actor: Identity, index: int | None) -> Change:
    """A clinician goes into breakout ``index`` (None: back to the main room)."""
    g = _clinician(room, actor)
    if index is not None and not 0 <= index < len(g["breakouts"]):
        raise Refused(Code.INVALID_STATE, "There is no such breakout.")
    if index is None:
        g["visiting"].pop(actor.id, None)
    else:
        g["visiting"][actor.id] = index
    return Change()


# -- who is where, who receives whom ---------------------------------------------------
def where(room: Room, member_id: str) -> str:
    """``MAIN``, or ``"breakout-<n>"`` for someone in (or visiting) breakout n."""
    g = _read(room)
    visiting = g["visiting"]
    if member_id in visiting:
        return f"breakout-{visiting[member_id]}"
    for index, pair in enumerate(g["breakouts"]):
        if member_id in pair:
            return f"breakout-{index}"
    return MAIN


def sfu_room(room: Room, member_id: str) -> str:
    """The SFU room ``member_id`` publishes and subscribes in: the group's own, or their
    breakout's (a separate room on the SFU)."""
    place = where(room, member_id)
    return room.id if place == MAIN else f"{room.id}{SEPARATOR}{place}"


def parent(sfu_room_id: str) -> str:
    """The Alongside room an SFU room key belongs to."""
    return sfu_room_id.split(SEPARATOR, 1)[0]


def sees(room: Room, viewer: Member, source: Member) -> bool:
    """Whether ``viewer`` receives ``source``'s feed under the group's rules: both in the
    same place (main room or the same breakout); in focus mode a member receives only the
    clinicians and the members the clinician allowed to be seen (clinicians see all)."""
    if where(room, viewer.id) != where(room, source.id):
        return False
    g = _read(room)
    if (g["focus"] and where(room, viewer.id) == MAIN and viewer.role is not Role.CLINICIAN
            and source.role is not Role.CLINICIAN):
        return source.id in g["video_allowed"]
    return True


def blocked(room: Room, member_id: str) -> tuple[bool, bool]:
    """(audio, video): what of ``member_id``'s publication the SFU must block."""
    g = _read(room)
    return is_muted(room, member_id), member_id in g["video_off"]


def view(room: Room, viewer: Member) -> dict[str, Any]:
    """The group state as ``viewer`` may see it: a clinician all of it, a member only what
    concerns them (never whether another member is muted, asked or allowed)."""
    g = _read(room)
    if viewer.role is Role.CLINICIAN:
        visiting = g["visiting"].get(viewer.id)
        return {"focus": g["focus"], "spotlight": g["spotlight"], "muted": _muted_list(room),
                "asked": list(g["asked"]), "videoOff": list(g["video_off"]),
                "videoAllowed": list(g["video_allowed"]),
                "breakouts": [list(p) for p in g["breakouts"]], "visiting": visiting}
    index = next((i for i, p in enumerate(g["breakouts"]) if viewer.id in p), None)
    pair = None if index is None else g["breakouts"][index]
    # Who visits this member's breakout: they see and hear that clinician anyway, and a
    # member is told rather than finding a face arrive unannounced.
    visitors = sorted(c for c, i in g["visiting"].items() if index is not None and i == index)
    return {"focus": g["focus"], "spotlight": g["spotlight"], "visitors": visitors,
            "muted": is_muted(room, viewer.id), "asked": viewer.id in g["asked"],
            "videoOff": viewer.id in g["video_off"],
            "videoAllowed": viewer.id in g["video_allowed"],
            "breakout": None if pair is None else [p for p in pair if p != viewer.id]}
