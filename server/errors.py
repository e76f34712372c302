"""Every error code Alongside answers with, in one place.

Codes are part of the public protocol (docs/protocol.md lists them with the
same wording); the messages are plain sentences a page may show to a person.
Domain code raises :class:`Refused`; transports turn it into
``{"ok": false, "error": {"code", "message"}}`` or a ``connect_error``.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # handshake and identity
    TOKEN_MISSING = "E_TOKEN_MISSING"
    TOKEN_INVALID = "E_TOKEN_INVALID"
    TOKEN_EXPIRED = "E_TOKEN_EXPIRED"
    TOKEN_NOT_YET_VALID = "E_TOKEN_NOT_YET_VALID"
    FORBIDDEN_ROOM = "E_FORBIDDEN_ROOM"
    FORBIDDEN_ROLE = "E_FORBIDDEN_ROLE"
    FORBIDDEN_PROGRAM = "E_FORBIDDEN_PROGRAM"
    # rooms and lobby
    ROOM_NOT_FOUND = "E_ROOM_NOT_FOUND"
    ROOM_FULL = "E_ROOM_FULL"
    ROOM_LOCKED = "E_ROOM_LOCKED"
    ROOM_ENDED = "E_ROOM_ENDED"
    ROLE_NOT_IN_ROOM_KIND = "E_ROLE_NOT_IN_ROOM_KIND"
    REMOVED = "E_REMOVED"
    DENIED = "E_DENIED"  # the code of the `denied` event: not let in this time, may knock again
    MUTED_BY_CLINICIAN = "E_MUTED_BY_CLINICIAN"  # a group member's own unmute, before asked
    NOT_JOINED = "E_NOT_JOINED"
    NOT_ADMITTED = "E_NOT_ADMITTED"
    UNKNOWN_PARTICIPANT = "E_UNKNOWN_PARTICIPANT"
    INVALID_STATE = "E_INVALID_STATE"
    # partner lifecycle and invites
    CONSENT_REQUIRED = "E_CONSENT_REQUIRED"
    APPROVAL_REQUIRED = "E_APPROVAL_REQUIRED"
    PARTNER_PAUSED = "E_PARTNER_PAUSED"
    CONSENT_WITHDRAWN = "E_CONSENT_WITHDRAWN"
    PARTNER_REVOKED = "E_PARTNER_REVOKED"
    TRANSITION_NOT_ALLOWED = "E_TRANSITION_NOT_ALLOWED"
    CLIENT_AGREEMENT_REQUIRED = "E_CLIENT_AGREEMENT_REQUIRED"
    COOLDOWN = "E_COOLDOWN"
    NOTE_REQUIRED = "E_NOTE_REQUIRED"
    INVITE_INVALID = "E_INVITE_INVALID"
    INVITE_EXPIRED = "E_INVITE_EXPIRED"
    INVITE_EXHAUSTED = "E_INVITE_EXHAUSTED"
    INVITE_REVOKED = "E_INVITE_REVOKED"
    QUOTA_TOO_HIGH = "E_QUOTA_TOO_HIGH"
    PROGRAM_NOT_FOUND = "E_PROGRAM_NOT_FOUND"
    PROGRAM_EXISTS = "E_PROGRAM_EXISTS"
    NOT_FOUND = "E_NOT_FOUND"
    # tools
    TOOL_UNKNOWN = "E_TOOL_UNKNOWN"
    TOOL_NOT_RUNNING = "E_TOOL_NOT_RUNNING"
    TOOL_RUNNING = "E_TOOL_RUNNING"
    TOOL_ROOM_KIND = "E_TOOL_ROOM_KIND"
    TOOL_ACTION = "E_TOOL_ACTION"
    TOOL_FAILED = "E_TOOL_FAILED"
    TOOL_TIMEOUT = "E_TOOL_TIMEOUT"
    OTHER_SIDE_ROOM = "E_OTHER_SIDE_ROOM"
    # media
    PRECALL_BUSY = "E_PRECALL_BUSY"
    # signaling
    TARGET_NOT_ADMITTED = "E_TARGET_NOT_ADMITTED"
    BAD_SDP = "E_BAD_SDP"
    BAD_CANDIDATE = "E_BAD_CANDIDATE"
    # group media (the SFU)
    SFU_UNAVAILABLE = "E_SFU_UNAVAILABLE"
    SFU_REFUSED = "E_SFU_REFUSED"
    SFU_ONLY = "E_SFU_ONLY"
    # group agreement
    AGREEMENT_REQUIRED = "E_AGREEMENT_REQUIRED"
    AGREEMENT_VERSION = "E_AGREEMENT_VERSION"
    ALIAS_INVALID = "E_ALIAS_INVALID"
    # transport
    SCHEMA = "E_SCHEMA"
    UNKNOWN_EVENT = "E_UNKNOWN_EVENT"
    RATE_LIMITED = "E_RATE_LIMITED"
    UNAVAILABLE = "E_UNAVAILABLE"
    INTERNAL = "E_INTERNAL"
    TOO_LARGE = "E_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "E_UNSUPPORTED_MEDIA_TYPE"
    METHOD_NOT_ALLOWED = "E_METHOD_NOT_ALLOWED"


MESSAGES: dict[Code, str] = {
    Code.TOKEN_MISSING: "No access token was given.",
    Code.TOKEN_INVALID: "The access token is not valid.",
    Code.TOKEN_EXPIRED: "The access token has expired.",
    Code.TOKEN_NOT_YET_VALID: "The access token is not valid yet.",
    Code.FORBIDDEN_ROOM: "This token does not grant access to that room.",
    Code.FORBIDDEN_ROLE: "Your role may not do that.",
    Code.FORBIDDEN_PROGRAM: "This token does not grant access to that program.",
    Code.ROOM_NOT_FOUND: "This session does not exist.",
    Code.ROOM_FULL: "This session already has someone in that seat.",
    Code.ROOM_LOCKED: "The clinician has locked this session; no one new can join.",
    Code.ROOM_ENDED: "This session has ended.",
    Code.ROLE_NOT_IN_ROOM_KIND: "Your role does not take part in this kind of session.",
    Code.REMOVED: "You were removed from this session.",
    Code.DENIED: "The clinician can't let you in right now.",
    Code.MUTED_BY_CLINICIAN: "The clinician muted you; you can unmute once they ask you to.",
    Code.NOT_JOINED: "Join the session first.",
    Code.NOT_ADMITTED: "Wait until the clinician admits you.",
    Code.UNKNOWN_PARTICIPANT: "That person is not in this session.",
    Code.INVALID_STATE: "That cannot be done in the session's current state.",
    Code.CONSENT_REQUIRED: "Couples sessions need the partner's own consent first.",
    Code.APPROVAL_REQUIRED: "Joining this session needs the clinician's approval or a trial invitation.",
    Code.PARTNER_PAUSED: "Access to couples sessions is paused for now.",
    Code.CONSENT_WITHDRAWN: "Consent was withdrawn; couples sessions are closed to this partner.",
    Code.PARTNER_REVOKED: "The clinician has closed couples sessions to this partner.",
    Code.TRANSITION_NOT_ALLOWED: "That step is not possible from the partner's current status.",
    Code.CLIENT_AGREEMENT_REQUIRED: "The client has not agreed to invite their partner.",
    Code.COOLDOWN: "The partner declined recently; no new invitation until the cool-down ends.",
    Code.NOTE_REQUIRED: "A short note is required for this decision.",
    Code.INVITE_INVALID: "This invitation link is not valid.",
    Code.INVITE_EXPIRED: "This invitation link has expired.",
    Code.INVITE_EXHAUSTED: "This invitation link has already been used.",
    Code.INVITE_REVOKED: "This invitation link was withdrawn.",
    Code.QUOTA_TOO_HIGH: "That is more trial sessions than the program allows.",
    Code.PROGRAM_NOT_FOUND: "No such program.",
    Code.PROGRAM_EXISTS: "A program with that id already exists.",
    Code.NOT_FOUND: "Not found.",
    Code.TOOL_UNKNOWN: "No such tool is installed.",
    Code.TOOL_NOT_RUNNING: "That tool is not running in this session.",
    Code.TOOL_RUNNING: "That tool is already running.",
    Code.TOOL_ROOM_KIND: "That tool is not available in this kind of session.",
    Code.TOOL_ACTION: "That tool has no such action.",
    Code.TOOL_FAILED: "The tool stopped working; the session goes on without it.",
    Code.TOOL_TIMEOUT: "The tool did not answer in time; the session goes on without it.",
    Code.OTHER_SIDE_ROOM: "That person is in another room right now.",
    Code.PRECALL_BUSY: "Too many connection tests are running right now; try again in a minute.",
    Code.TARGET_NOT_ADMITTED: "That person is not in the session room.",
    Code.BAD_SDP: "The session description is malformed.",
    Code.BAD_CANDIDATE: "The ICE candidate is malformed.",
    Code.SFU_UNAVAILABLE: "Group video is unavailable right now; try again in a moment.",
    Code.SFU_REFUSED: "The media server could not use that; start the connection again.",
    Code.SFU_ONLY: "In a group session, video goes through the media server (sfu.* events).",
    Code.AGREEMENT_REQUIRED: "Please read and accept the group agreement before joining.",
    Code.AGREEMENT_VERSION: "That is not the group agreement's current text; please read it again.",
    Code.ALIAS_INVALID: "Choose a name of 1 to 40 characters, on one line.",
    Code.SCHEMA: "The message does not have the expected shape.",
    Code.UNKNOWN_EVENT: "Unknown event.",
    Code.RATE_LIMITED: "Too many messages; slow down.",
    Code.UNAVAILABLE: "The service is temporarily unavailable; try again.",
    Code.INTERNAL: "Something went wrong on the server.",
    Code.TOO_LARGE: "The request body is too large.",
    Code.UNSUPPORTED_MEDIA_TYPE: "Send the body as JSON (Content-Type: application/json).",
    Code.METHOD_NOT_ALLOWED: "That method is not allowed on this path.",
}


class ToolCode(str):
    """A code a tool plugin defines (``E_TOOL_…``), documented in its own docs.

    It quacks like a :class:`Code` (``.value``) so refusals, acks and audit rows
    carry it unchanged.
    """

    @property
    def value(self) -> str:
        return str(self)


class Refused(Exception):
    """A request refused for a documented reason.

    :param code: the protocol code (or a tool's own ``E_TOOL_…`` code).
    :param message: a plain sentence; defaults to the code's standard message.
    """

    def __init__(self, code: Code | ToolCode, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES[code]  # type: ignore[index]
        super().__init__(f"{code}: {self.message}")

    def as_error(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


# HTTP statuses for REST answers; socket.io answers carry the code alone.
HTTP_STATUS: dict[Code, int] = {
    Code.TOKEN_MISSING: 401, Code.TOKEN_INVALID: 401, Code.TOKEN_EXPIRED: 401,
    Code.TOKEN_NOT_YET_VALID: 401, Code.FORBIDDEN_ROOM: 403, Code.FORBIDDEN_ROLE: 403,
    Code.FORBIDDEN_PROGRAM: 403, Code.ROOM_NOT_FOUND: 404, Code.PROGRAM_NOT_FOUND: 404,
    Code.NOT_FOUND: 404, Code.INVITE_INVALID: 404, Code.INVITE_EXPIRED: 410,
    Code.INVITE_EXHAUSTED: 410, Code.INVITE_REVOKED: 410, Code.SCHEMA: 422,
    Code.RATE_LIMITED: 429, Code.UNAVAILABLE: 503, Code.SFU_UNAVAILABLE: 503, Code.INTERNAL: 500,
    Code.TOO_LARGE: 413, Code.UNSUPPORTED_MEDIA_TYPE: 415, Code.METHOD_NOT_ALLOWED: 405,
}


def http_status(code: Code | ToolCode) -> int:
    """The HTTP status of a refusal; state conflicts are 409."""
    return HTTP_STATUS.get(Code(code), 409) if code in Code.__members__.values() else 409


def failure(code: Code, message: str | None = None) -> dict[str, object]:
    """The ack body of a refusal."""
    return {"ok": False, "error": Refused(code, message).as_error()}
