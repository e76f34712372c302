"""Request bodies of the REST API. Unknown fields are refused (``E_SCHEMA``).

Names and notes are normalised to NFC before their checks, and refuse control, bidi
and zero-width characters (:mod:`server.domain.text`); notes may hold line breaks.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from server.catalogues import LOCALES
from server.domain.text import LINE_PATTERN, NOTE_PATTERN, nfc

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
# The validator wraps the constrained string, so NFC comes before the length and pattern.
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=LINE_PATTERN),
                 BeforeValidator(nfc)]
Note = Annotated[str, Field(max_length=1000, pattern=NOTE_PATTERN), BeforeValidator(nfc)]


def offered_locale(value: str) -> str:
    """A locale the deployment has complete words for (server/catalogues.py LOCALES)."""
    if value not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
    return value


Locale = Annotated[str, Field(max_length=16, json_schema_extra={"enum": list(LOCALES)}),
                   AfterValidator(offered_locale)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


B = TypeVar("B", bound=Body)


class PersonIn(Body):
    id: Id
    name: Name


class NewProgram(Body):
    id: Id
    client: PersonIn
    clinicians: Annotated[list[PersonIn], Field(min_length=1, max_length=10)]
    partner: PersonIn | None = None
    maxTrials: Annotated[int, Field(ge=1, le=5)] = 2
    cooldownDays: Annotated[float, Field(ge=0, le=365)] = 30.0


class NewSession(Body):
    id: Id
    kind: Literal["individual", "couples", "group", "family"]
    startsAt: float | None = None
    # Only for a group: a partners-and-family group, the partner's other door
    # (docs/partner-lifecycle.md); E_INVALID_STATE (409) on another kind.
    audience: Literal["partners-family"] | None = None


class Step(Body):
    step: Literal["agree", "request", "approve", "decline-request", "pause", "resume",
                  "withdraw", "revoke", "decline", "defer"]
    note: Note | None = None
    share: bool = False


class NewInvite(Body):
    room: Id
    quota: Annotated[int, Field(ge=1, le=5)] = 1
    expiresInHours: Annotated[float, Field(gt=0, le=24 * 30)] | None = None
    locale: Locale | None = Field(None, description="The language the partner reads the "
                                  "invitation in (the invite page's default; `?lang=` wins).")


class InviteSecret(Body):
    secret: Annotated[str, Field(min_length=16, max_length=128)]


class InviteResponse(Body):
    secret: Annotated[str, Field(min_length=16, max_length=128)]
    decision: Literal["consent", "not-now", "decline"]
    documentVersion: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="Required to consent: the `couplesInfo.version` of the preview the "
        "partner read. Missing or not the current version: E_CONSENT_REQUIRED (409).")
    share: bool = False
    name: Name | None = None
    locale: Locale | None = Field(None, description="The language of the text read: "
                                  "its support list answers in it; to consent, "
                                  "`documentVersion` must be that language's version.")


class SessionRef(Body):
    room: Id


class CheckIn(Body):
    readiness: Annotated[int, Field(ge=1, le=5)]
    note: Note | None = None


class NewPartnerGroupInvite(Body):
    room: Id
    expiresInHours: Annotated[float, Field(gt=0, le=24 * 30)] | None = None
    locale: Locale | None = None


class PartnerGroupOpen(Body):
    program: Id
    invite: Id
    secret: Annotated[str, Field(min_length=16, max_length=128)]


class NewFamilyInvite(Body):
    room: Id
    name: Name | None = None  # the family member's first name, as the room will show it
    expiresInHours: Annotated[float, Field(gt=0, le=24 * 30)] | None = None
    locale: Locale | None = None


class FamilyInviteOpen(Body):
    invite: Id
    secret: Annotated[str, Field(min_length=16, max_length=128)]
