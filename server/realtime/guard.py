"""Every event's wrapper: the connection, its rate, the payload's schema, and an ack always.

A handler that raises would send no ack at all, so each one runs inside
:func:`guard`, which answers every refusal, schema error, store outage and bug
with a documented error code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from pydantic import ValidationError

from server.errors import Code, Refused, failure
from server.logs import log_event
from server.metrics import Observer
from server.realtime import schemas
from server.realtime.codec import UNREADABLE
from server.realtime.connections import Connection, Connections
from server.store import StoreUnavailable

Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]
# event name -> (payload schema, handler, whether the caller must have joined first)
EventTable = dict[str, tuple[type[schemas.Payload], Handler, bool]]


def guard(connections: Connections, name: str, schema: type[schemas.Payload],
          handler: Handler, needs_join: bool, observe: Observer | None = None
          ) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The event's handler inside its checks; ``observe`` (the metrics') hears every
    answer with the caller's role and the seconds from the event's arrival to its ack."""
    async def guarded(sid: str, *args: Any) -> dict[str, Any]:
        conn = connections.get(sid)
        if conn is None:
            return failure(Code.NOT_JOINED)
        if not conn.bucket.take():
            log_event("event.rate_limited", logging.WARNING, event=name, actor=conn.identity.id)
            return failure(Code.RATE_LIMITED)
        try:
            if len(args) > 1:
                raise Refused(Code.SCHEMA, "Send one payload object.")
            payload = schema.model_validate(args[0] if args and args[0] is not None else {})
            if needs_join and not conn.joined:
                raise Refused(Code.NOT_JOINED)
            return {"ok": True, **await handler(conn, payload)}
        except Refused as refusal:
            return {"ok": False, "error": refusal.as_error()}
        except ValidationError:
            return failure(Code.SCHEMA)
        except StoreUnavailable:
            log_event("store.unavailable", logging.WARNING, event=name)
            return failure(Code.UNAVAILABLE)
        except Exception as exc:  # a bug: answer, log the type only, keep serving
            log_event("event.crashed", logging.ERROR, event=name, error=type(exc).__name__)
            return failure(Code.INTERNAL)

    if observe is None:
        return guarded

    async def observed(sid: str, *args: Any) -> dict[str, Any]:
        started = perf_counter()
        reply = await guarded(sid, *args)
        conn = connections.get(sid)
        observe(conn.identity.role.value if conn else "", reply, perf_counter() - started)
        return reply

    return observed


def unknown(connections: Connections) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The answer to an event nobody handles (or a packet that could not be read)."""
    async def on_unknown(event: str, sid: str, *args: Any) -> dict[str, Any]:
        conn = connections.get(sid)
        if conn is not None and not conn.bucket.take():
            return failure(Code.RATE_LIMITED)
        if event == UNREADABLE:  # too deep, not JSON, or not [name, ...]: see codec.py
            return failure(Code.SCHEMA)
        return failure(Code.UNKNOWN_EVENT)

    return on_unknown
