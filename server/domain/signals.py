"""WebRTC signaling payloads, validated (names as in the WebRTC spec).

Validation is deliberately shallow: the server never parses SDP (that would
make it a party to the media); it checks type, size and the mandatory prefix so
that junk is refused before it reaches another person's browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.errors import Code, Refused

MAX_SDP_BYTES = 32 * 1024
MAX_CANDIDATE_BYTES = 1024
DESCRIPTION_TYPES = ("offer", "answer")


@dataclass(frozen=True, slots=True)
class RTCSessionDescription:
    type: str
    sdp: Any

    def __post_init__(self) -> None:
        if self.type not in DESCRIPTION_TYPES:
            raise Refused(Code.BAD_SDP, "Unknown session description type.")
        if not isinstance(self.sdp, str):
            raise Refused(Code.BAD_SDP, "The session description must be text.")
        if len(self.sdp.encode()) > MAX_SDP_BYTES:
            raise Refused(Code.BAD_SDP, "The session description is too large.")
        if not self.sdp.startswith("v=0"):
            raise Refused(Code.BAD_SDP, "The session description must start with v=0.")


@dataclass(frozen=True, slots=True)
class RTCIceCandidate:
    """A trickled candidate; ``candidate == ""`` marks the end of candidates."""

    candidate: str
    sdpMid: str | None = None  # noqa: N815 (spec name)
    sdpMLineIndex: int | None = None  # noqa: N815 (spec name)
    usernameFragment: str | None = None  # noqa: N815 (spec name)

    @classmethod
    def parse(cls, raw: Any) -> RTCIceCandidate | None:
        """``None`` (end of candidates) or a validated candidate."""
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) - {"candidate", "sdpMid", "sdpMLineIndex",
                                                    "usernameFragment"}:
            raise Refused(Code.BAD_CANDIDATE)
        # The fields are checked in __post_init__; the annotations say what passes.
        return cls(raw.get("candidate"), raw.get("sdpMid"),  # type: ignore[arg-type]
                   raw.get("sdpMLineIndex"), raw.get("usernameFragment"))

    def __post_init__(self) -> None:
        c = self.candidate
        if not isinstance(c, str) or len(c.encode()) > MAX_CANDIDATE_BYTES:
            raise Refused(Code.BAD_CANDIDATE)
        if c and not (c.startswith("candidate:") or c.startswith("a=candidate:")):
            raise Refused(Code.BAD_CANDIDATE, "An ICE candidate must start with 'candidate:'.")
        if "\r" in c or "\n" in c:
            raise Refused(Code.BAD_CANDIDATE, "An ICE candidate is a single line.")
        if self.sdpMid is not None and (not isinstance(self.sdpMid, str) or len(self.sdpMid) > 64):
            raise Refused(Code.BAD_CANDIDATE, "sdpMid is malformed.")
        idx = self.sdpMLineIndex
        if idx is not None and (isinstance(idx, bool) or not isinstance(idx, int)
                                or not 0 <= idx <= 255):
            raise Refused(Code.BAD_CANDIDATE, "sdpMLineIndex is malformed.")
        uf = self.usernameFragment
        if uf is not None and (not isinstance(uf, str) or len(uf) > 256):
            raise Refused(Code.BAD_CANDIDATE, "usernameFragment is malformed.")
        if self.sdpMid is None and idx is None and c:
            raise Refused(Code.BAD_CANDIDATE, "A candidate needs sdpMid or sdpMLineIndex.")

    def to_json(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "sdpMid": self.sdpMid,
                "sdpMLineIndex": self.sdpMLineIndex, "usernameFragment": self.usernameFragment}
