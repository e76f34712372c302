"""Payload shapes of client events. Wrong shape -> ``E_SCHEMA``; nothing else is read.

SDP and candidates are typed ``Any`` here on purpose: their content is checked by
:mod:`server.domain.signals`, which answers the more useful ``E_BAD_SDP`` /
``E_BAD_CANDIDATE``. Free text shown to someone (a deny or remove reason) is normalised
to NFC and refuses control, bidi and zero-width characters (:mod:`server.domain.text`).
Tool payloads are the tool's own to check.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from server.domain.text import LINE_PATTERN, nfc

Id = Annotated[str, Field(min_length=1, max_length=128)]
Reason = Annotated[str, Field(max_length=200, pattern=LINE_PATTERN), BeforeValidator(nfc)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Empty(Payload):
    pass


class Join(Payload):
    renegotiate: StrictBool = True


class Target(Payload):
    participant: Id


class TargetWithReason(Payload):
    participant: Id
    reason: Reason | None = None


class Lock(Payload):
    locked: StrictBool


class Description(Payload):
    to: Id
    sdp: Any = None


class Candidate(Payload):
    to: Id
    candidate: Any = None


class PrecallOffer(Payload):
    sdp: Any = None


class Quality(Payload):
    """A short getStats summary: rtt (ms), loss (0..1), jitter (ms), bitrate (kbit/s)."""

    rtt: float
    loss: float
    jitter: float
    bitrate: float = 0.0
    audioOnly: StrictBool = False  # the person chose audio only (told to the clinician)


ToolId = Annotated[str, Field(min_length=1, max_length=64)]


class ToolName(Payload):
    tool: ToolId


class ToolStart(Payload):
    tool: ToolId
    options: dict[str, Any] = Field(default_factory=dict)


class ToolAct(Payload):
    tool: ToolId
    action: Annotated[str, Field(min_length=1, max_length=64)]
    payload: dict[str, Any] = Field(default_factory=dict)
