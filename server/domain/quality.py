"""Connection quality as a level and an advice code, from a few numbers every browser's
getStats gives.

One classifier serves the pre-call test and the in-session reports, so a person
sees the same verdict before and during a session. Thresholds follow common
WebRTC guidance: round trip under 150 ms, loss under 2 % and jitter under 30 ms
hold video well; past 400 ms, 8 % or 100 ms, video breaks up and audio alone
holds better. The advice is a code, not a sentence: the page words it in its own language
(``devices.advice.<code>`` in web/locales/<locale>/devices.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.errors import Code, Refused


class Level(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


# The advice each level gets, by code. One per level today ("looks good for video"; "may be
# unsteady: move closer to the router, close other apps"; "weak for video: try audio only"),
# named apart from the level so that advice can grow without changing what a level means.
ADVICE: dict[Level, str] = {Level.GOOD: "good", Level.FAIR: "fair", Level.POOR: "poor"}


@dataclass(frozen=True, slots=True)
class Sample:
    """One summary: round trip (ms), packet loss (0..1), jitter (ms), bitrate (kbit/s)."""

    rtt: float
    loss: float
    jitter: float
    bitrate: float

    def __post_init__(self) -> None:
        for name, value, top in (("rtt", self.rtt, 60_000), ("loss", self.loss, 1),
                                 ("jitter", self.jitter, 60_000),
                                 ("bitrate", self.bitrate, 1_000_000)):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not 0 <= value <= top:
                raise Refused(Code.SCHEMA, f"{name} is out of range.")


def classify(s: Sample) -> Level:
    if s.rtt > 400 or s.loss > 0.08 or s.jitter > 100 or (0 < s.bitrate < 150):
        return Level.POOR
    if s.rtt > 150 or s.loss > 0.02 or s.jitter > 30 or (0 < s.bitrate < 400):
        return Level.FAIR
    return Level.GOOD


def verdict(s: Sample) -> dict[str, object]:
    level = classify(s)
    return {"level": level.value, "advice": ADVICE[level], "audioOnly": level is Level.POOR}
