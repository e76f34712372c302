"""Typed answers of the invite routes, as the OpenAPI document states them.

The invite page and any integrator's client are written against these: consenting
needs the preview's ``couplesInfo.version`` back as ``documentVersion``, so the shape
is a promise, not a detail. ``couplesInfo`` and support entries are the deployment's
own words (``ALONGSIDE_CONTENT_DIR``) and may carry more fields than listed.

Caveat: the routes build plain dicts (a reply model failing at run time would read as
the caller's ``E_SCHEMA``); tests check the live answers against these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CouplesInfo(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    version: str = Field(description="Send it back as `documentVersion` to consent.")
    title: str | None = None
    paragraphs: list[str]


class Support(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    title: str
    description: str | None = None
    contact: str | None = None


class LinkAnswer(Reply):
    """The partner's last answer through this link."""

    decision: Literal["consent", "not-now", "decline"]
    at: float
    shared: bool = Field(description="Whether the partner let the client know this answer.")


class InvitePreview(Reply):
    status: Literal["ok", "E_INVITE_EXPIRED", "E_INVITE_EXHAUSTED", "E_INVITE_REVOKED"] = Field(
        description="`ok` if the link can still be used; else why not (nothing is consumed).")
    couplesInfo: CouplesInfo
    support: list[Support]
    clinicians: list[str]
    clientName: str
    trialsLeft: int = Field(ge=0)
    expiresAt: float
    locale: str = Field(description="The language of `couplesInfo` and `support`: the "
                        "query's `locale`, else the invitation's, else English.")
    invitationLocale: str | None = Field(
        description="The language whoever made the link chose for it, if any.")
    answer: LinkAnswer | None = Field(
        description="What the partner already answered through this link, if anything.")
    canAsk: bool = Field(description="The partner may ask to hear from the program again "
                         "(`POST /api/invites/ask`): after not now, a decline or a withdrawal.")
    asked: bool = Field(description="The partner asked, and no new invitation came since.")


class InviteConsented(Reply):
    """The answer to ``decision: "consent"``: a partner token with the trial pass."""

    token: str
    room: str
    expiresAt: float


class InviteAnswered(Reply):
    """The answer to ``not-now`` and ``decline``: nothing consumed, other support listed."""

    state: str
    support: list[Support]


class InviteAsked(Reply):
    """The answer to ``POST /api/invites/ask``: the clinicians will see the request."""

    asked: Literal[True]
    askedAt: float
