"""Structured logs that cannot carry PHI: only whitelisted, content-free fields.

Log lines are JSON. Names, tokens, SDP, candidates and free text never reach a
logger through :func:`log_event`, because fields outside ``SAFE_FIELDS`` are
dropped; person ids are shortened to a keyed-free hash so logs can correlate
without naming anyone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from typing import Any

SAFE_FIELDS = frozenset({"room", "actor", "target", "role", "code", "event", "reason",
                         "count", "ms", "node", "status", "path", "method", "outcome", "error",
                         "where"})

log = logging.getLogger("alongside")


def pseudonym(person_id: str) -> str:
    """A short stable hash of a participant id, for correlating log lines."""
    return hashlib.sha256(person_id.encode()).hexdigest()[:12]


def log_event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    if not log.isEnabledFor(level):
        return
    safe = {k: v for k, v in fields.items() if k in SAFE_FIELDS}
    for key in ("actor", "target"):
        if key in safe and safe[key]:
            safe[key] = pseudonym(str(safe[key]))
    log.log(level, name, extra={"fields": safe})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"t": round(time.time(), 3), "level": record.levelname,
                                "logger": record.name, "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback's locals and messages may quote payloads.
            line["exc"] = record.exc_info[0].__name__
        return json.dumps(line, separators=(",", ":"))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The transport libraries log payloads at INFO; keep them to warnings.
    for noisy in ("socketio", "engineio", "aiohttp.access", "aiortc", "aioice"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
