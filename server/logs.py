"""Structured logs that cannot carry PHI: only whitelisted, content-free fields.

Log lines are JSON, one a line, on stderr, and every logger goes through the one
formatter: ours, and the libraries' (engineio, socketio, aiohttp, aiortc, asyncio,
warnings). Names, tokens, SDP, candidates and free text never reach a line:

* :func:`log_event` keeps only fields in ``SAFE_FIELDS`` and turns person ids into
  pseudonyms, an HMAC under the deployment's key (``ALONGSIDE_LOG_KEY``), so lines
  correlate within a deployment but a guessable id (``client-1``) cannot be looked
  up in a dictionary of hashes;
* any other record (a library's) keeps its message template only when it was logged
  with arguments, and drops the arguments; a message without arguments may have been
  built from the request (engineio writes ``<origin> is not an accepted origin``), so
  it is withheld and only where it was logged (``src``: file:line) is kept;
* an exception is its type and where it was raised (file:line), never its message
  or traceback, which quote payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import threading
from types import TracebackType
from typing import Any

SAFE_FIELDS = frozenset({"room", "actor", "target", "role", "code", "event", "reason",
                         "count", "ms", "node", "status", "path", "method", "outcome", "error",
                         "where"})
WITHHELD = "(withheld)"
"""The ``msg`` of a foreign record logged without arguments: its text may quote a request."""

log = logging.getLogger("alongside")

# Replaced by configure(); until then (in-process tests) a random key: never unkeyed.
_key = secrets.token_bytes(32)


def set_key(key: str) -> None:
    """Use the deployment's pseudonym key (the same on every node of a cluster)."""
    global _key
    _key = key.encode() if key else secrets.token_bytes(32)


def keyed_hash(purpose: str, value: str, length: int = 12, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``value`` under ``key`` (default: the key :func:`configure` set),
    for one ``purpose``, as ``length`` hex digits.

    Note: the purpose keeps a pseudonym and, say, an address hash of the same string
    apart; only someone holding the key can test a guess.
    """
    mac = hmac.new(key or _key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:length]


def pseudonym(person_id: str) -> str:
    """A short stable keyed hash of a participant id, for correlating log lines."""
    return keyed_hash("person", person_id)


def log_event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    if not log.isEnabledFor(level):
        return
    safe = {k: v for k, v in fields.items() if k in SAFE_FIELDS}
    for key in ("actor", "target"):
        if key in safe and safe[key]:
            safe[key] = pseudonym(str(safe[key]))
    log.log(level, name, extra={"fields": safe})


def _where(tb: TracebackType | None) -> str:
    """file:line of the innermost frame (where it was raised)."""
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"t": round(record.created, 3), "level": record.levelname,
                                "logger": record.name}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):  # ours, through log_event: already content-free
            line["msg"] = str(record.msg)
            line.update(fields)
        else:
            template = isinstance(record.msg, str) and bool(record.args)
            line["msg"] = record.msg if template else WITHHELD
            line["src"] = f"{os.path.basename(record.pathname)}:{record.lineno}"
        if record.exc_info and record.exc_info[0] is not None:
            # The type and place only: a traceback's messages and locals may quote payloads.
            line["exc"] = record.exc_info[0].__name__
            line["at"] = _where(record.exc_info[2])
        return json.dumps(line, separators=(",", ":"))


# The libraries whose loggers must end in our handler; none may keep one of its own.
LIBRARIES = ("socketio", "engineio", "aiohttp", "aiortc", "aioice", "asyncio", "redis",
             "py.warnings")
# The transport libraries log payloads at INFO; keep them to warnings. engineio and socketio
# also warn once per message to a socket just gone or per refused connection (floods of both
# are normal under load): errors only, the level they set themselves when left to their own.
NOISY = {"socketio": logging.ERROR, "engineio": logging.ERROR, "aiohttp.access": logging.WARNING,
         "aiortc": logging.WARNING, "aioice": logging.WARNING}


def _crashed(kind: type[BaseException], exc: BaseException | None,
             tb: TracebackType | None) -> None:
    value = exc if exc is not None else BaseException()
    log.critical("process.crashed", exc_info=(kind, value, tb), extra={"fields": {}})


def configure(level: str = "INFO", key: str = "") -> None:
    """JSON on stderr for every logger, and the deployment's pseudonym key.

    Note: python-engineio and python-socketio add a plain ``StreamHandler`` of
    their own unless given a logger (server/realtime/server.py gives them theirs);
    any handler found on a library logger is removed here all the same.
    """
    set_key(key)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings print plain text (with a source line) otherwise
    for name in (*LIBRARIES, *(n for n in logging.root.manager.loggerDict
                               if n.startswith(tuple(f"{lib}." for lib in LIBRARIES)))):
        library = logging.getLogger(name)
        library.handlers[:] = []
        library.propagate = True
    for noisy, floor in NOISY.items():
        logging.getLogger(noisy).setLevel(floor)
    # An uncaught exception would print a traceback; it becomes one JSON line instead.
    sys.excepthook = _crashed
    threading.excepthook = lambda a: _crashed(a.exc_type, a.exc_value, a.exc_traceback)
