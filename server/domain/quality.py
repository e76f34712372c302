"""Connection quality in plain words, from a few numbers every browser's getStats gives.

One classifier serves the pre-call test and the in-session reports, so a person
sees the same verdict before and during a session. Thresholds follow common
WebRTC guidance: round trip under 150 ms, loss under 2 % and jitter under 30 ms
hold video well; past 400 ms, 8 % or 100 ms, video breaks up and audio alone
holds better.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.errors import Code, Refused


class Level(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


ADVICE: dict[Level, str] = {
    Level.GOOD: "Your connection looks good for video.",
    Level.FAIR: "Your connection may be unsteady. Moving closer to your Wi-Fi router or "
                "closing other apps that use the internet can help.",
    Level.POOR: "Your connection is weak for video. Try audio only, move closer to your "
                "Wi-Fi router, or switch between Wi-Fi and mobile data.",
}


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
