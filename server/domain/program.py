"""An IOP program: the client, their clinicians, and the partner's record.

The partner's record lives here, apart from the client's sessions: nothing
about the client's individual sessions reads it (see ``partner.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from server.domain.partner_group import PartnerGroupInvite

DEFAULT_MAX_TRIALS = 2
DEFAULT_COOLDOWN_DAYS = 30.0


class State(StrEnum):
    """The partner's lifecycle state (docs/partner-lifecycle.md); stored and answered as
    its string value, so documents and API answers read as plain strings."""

    NOT_INVITED = "not_invited"
    INVITED = "invited"
    DEFERRED = "deferred"
    DECLINED = "declined"
    CONSENTED = "consented"  # to trial sessions
    REQUESTED = "requested"  # couples sessions asked for, awaiting the clinician
    APPROVED = "approved"
    ACTIVE = "active"  # approved and has attended
    PAUSED = "paused"  # by the client
    WITHDRAWN = "withdrawn"  # consent withdrawn by the partner
    REVOKED = "revoked"  # by the clinician


@dataclass(slots=True)
class Person:
    id: str
    name: str

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 128 or not self.name or len(self.name) > 80:
            raise ValueError("a person needs an id (<=128) and a display name (<=80)")


@dataclass(slots=True)
class Invite:
    """A trial-session invitation link. Only the secret's hash is ever kept."""

    id: str
    secret_hash: str
    room: str
    quota: int
    expires_at: float
    created_at: float
    created_by: str
    used: int = 0
    revoked: bool = False
    redeemed_rooms: list[str] = field(default_factory=list)
    locale: str | None = None  # the language the invitation is written in, if chosen
    answer: str | None = None  # the partner's last answer through it: consent | not-now | decline
    answered_at: float | None = None
    answer_shared: bool = False  # the partner chose to let the client know that answer


@dataclass(slots=True)
class CheckIn:
    at: float
    by: str  # role
    readiness: int  # 1 (not ready) .. 5 (ready)
    note: str = ""  # clinician's words: shown to clinicians only, never audited


@dataclass(slots=True)
class Request:
    id: str
    by: str  # role
    at: float
    status: str = "pending"  # pending | approved | declined
    decided_at: float | None = None
    note: str = ""


@dataclass(slots=True)
class Transition:
    state: str
    by: str  # role
    at: float


@dataclass(slots=True)
class Partner:
    id: str
    name: str = "Partner"
    state: State = State.NOT_INVITED
    client_agreed: bool = False
    consent_version: str | None = None
    consented_at: float | None = None
    cooldown_until: float | None = None
    paused_from: str | None = None
    shared_with_client: str | None = None  # the last status the partner chose to share
    approval_note: str = ""
    trials_attended: int = 0
    # The partner asked, through a link, to hear from the program again (ends a cool-down);
    # cleared by the next invitation.
    asked_at: float | None = None
    history: list[Transition] = field(default_factory=list)
    checkins: list[CheckIn] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = State(self.state)  # a stored document holds the string


@dataclass(slots=True)
class Program:
    id: str
    client: Person
    clinicians: list[Person]
    partner: Partner
    max_trials: int = DEFAULT_MAX_TRIALS
    cooldown_days: float = DEFAULT_COOLDOWN_DAYS
    invites: dict[str, Invite] = field(default_factory=dict)
    # The partner's other door (partner_group.py): clinicians' view only, never the client's.
    partner_groups: dict[str, PartnerGroupInvite] = field(default_factory=dict)
    version: int = 0

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 128:
            raise ValueError("a program needs an id of at most 128 characters")
        if not self.clinicians:
            raise ValueError("a program needs at least one clinician")
        if not 1 <= self.max_trials <= 5:
            raise ValueError("max_trials must be between 1 and 5")

    def is_clinician(self, person_id: str) -> bool:
        return any(c.id == person_id for c in self.clinicians)

    def to_dict(self) -> dict[str, Any]:
        # orjson encodes dataclasses natively, five times faster than asdict.
        data: dict[str, Any] = orjson.loads(orjson.dumps(self))
        data["program"] = self.id  # the store indexes documents by program
        return data

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Program:
        p = d["partner"]
        partner = Partner(**{**p,
                             "history": [Transition(**t) for t in p["history"]],
                             "checkins": [CheckIn(**c) for c in p["checkins"]],
                             "requests": [Request(**r) for r in p["requests"]]})
        return cls(id=d["id"], client=Person(**d["client"]),
                   clinicians=[Person(**c) for c in d["clinicians"]], partner=partner,
                   max_trials=d["max_trials"], cooldown_days=d["cooldown_days"],
                   invites={k: Invite(**v) for k, v in d["invites"].items()},
                   partner_groups={k: PartnerGroupInvite.from_dict(v)
                                   for k, v in d.get("partner_groups", {}).items()},
                   version=d.get("version", 0))
