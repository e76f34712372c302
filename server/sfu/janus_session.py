"""One Janus session over Janus's WebSocket API: transactions, keepalives and handles.

The wire format is Janus's own (janus.conf.meetecho.com/docs/rest): every request carries a
``transaction`` and the ``apisecret``; the answer with the same transaction is ``success``,
``error``, or, for a plugin message that takes time, an ``ack`` followed by an ``event``.
Messages without a transaction of ours (``webrtcup``, ``hangup``, ``media``, plugin
notifications) go to :attr:`JanusSession.on_event`.

Note: Janus destroys a session that hears nothing for ``session_timeout`` (60 s by
default); :class:`JanusSession` sends a keepalive every :data:`KEEPALIVE` seconds. When the
socket closes, every pending request fails with :class:`SfuUnavailable` and the session is
dead for good (Janus has destroyed it and its handles): open a new one. A keepalive that
fails (Janus hung: no answer within the timeout) closes the session the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

from server.logs import log_event
from server.sfu.api import SfuRefused, SfuUnavailable

KEEPALIVE = 25.0  # seconds; well under Janus's default session_timeout of 60
TIMEOUT = 10.0  # seconds for one answer
PROTOCOL = "janus-protocol"

EventHandler = Callable[[int | None, dict[str, Any]], None]


class JanusSession:
    """A connected Janus session. Make one with :meth:`open`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession,
                 api_secret: str, timeout: float = TIMEOUT,
                 keepalive: float = KEEPALIVE) -> None:
        self._ws = ws
        self._http = http
        self._secret = api_secret
        self._timeout = timeout
        self._keepalive_every = keepalive
        # transaction -> (future, whether an "ack" answers it)
        self._pending: dict[str, tuple[asyncio.Future[dict[str, Any]], bool]] = {}
        self.session_id = 0
        self.on_event: EventHandler = lambda handle, message: None
        self._reader: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.closed = False

    @classmethod
    async def open(cls, url: str, api_secret: str, timeout: float = TIMEOUT,
                   keepalive: float = KEEPALIVE) -> JanusSession:
        """Connect to ``url`` and create a session; raises :class:`SfuUnavailable`."""
        http = aiohttp.ClientSession()
        try:
            ws = await http.ws_connect(url, protocols=(PROTOCOL,), timeout=aiohttp.ClientWSTimeout(
                ws_receive=None, ws_close=timeout), heartbeat=None, max_msg_size=4 * 1024 * 1024)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            await http.close()
            raise SfuUnavailable(type(exc).__name__) from exc
        session = cls(ws, http, api_secret, timeout, keepalive)
        session._reader = asyncio.ensure_future(session._read())
        try:
            answer = await session._send({"janus": "create"})
        except BaseException:
            await session.close()
            raise
        session.session_id = int(answer["data"]["id"])
        session._keepalive = asyncio.ensure_future(session._keep_alive())
        return session

    async def attach(self, plugin: str) -> int:
        """A new handle on ``plugin``; returns its id."""
        answer = await self._send({"janus": "attach", "plugin": plugin,
                                   "session_id": self.session_id})
        return int(answer["data"]["id"])

    async def detach(self, handle: int) -> None:
        """Let go of a handle (its peer connection closes); a gone handle is not an error."""
        with contextlib.suppress(SfuRefused):
            await self._send({"janus": "detach", "session_id": self.session_id,
                              "handle_id": handle})

    async def message(self, handle: int, body: dict[str, Any],
                      jsep: dict[str, Any] | None = None) -> tuple[dict[str, Any],
                                                                   dict[str, Any] | None]:
        """A plugin request on ``handle``: ``(plugin data, jsep or None)`` of its answer.

        Raises :class:`SfuRefused` when the plugin answers with an error.
        """
        request: dict[str, Any] = {"janus": "message", "session_id": self.session_id,
                                   "handle_id": handle, "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        answer = await self._send(request)
        data = answer.get("plugindata", {}).get("data", {})
        if "error_code" in data or "error" in data:
            raise SfuRefused(str(data.get("error", "")), int(data.get("error_code", 0)))
        return data, answer.get("jsep")

    async def trickle(self, handle: int, candidate: dict[str, Any] | None) -> None:
        await self._send({"janus": "trickle", "session_id": self.session_id,
                          "handle_id": handle,
                          "candidate": candidate if candidate else {"completed": True}},
                         ack=True)

    async def close(self) -> None:
        """Destroy the session (if the socket is still up) and close the socket."""
        if not self.closed and self.session_id and not self._ws.closed:
            with contextlib.suppress(SfuUnavailable, SfuRefused):
                await self._send({"janus": "destroy", "session_id": self.session_id})
        self.closed = True
        for task in (self._keepalive, self._reader):
            if task is not None:
                task.cancel()
        await self._ws.close()
        await self._http.close()
        self._fail_pending()

    # -- the wire --------------------------------------------------------------------
    async def _send(self, request: dict[str, Any], ack: bool = False) -> dict[str, Any]:
        if self.closed or self._ws.closed:
            raise SfuUnavailable("the Janus session is closed")
        transaction = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = (future, ack)
        try:
            await self._ws.send_str(json.dumps(
                {**request, "transaction": transaction, "apisecret": self._secret}))
            answer = await asyncio.wait_for(future, self._timeout)
        except (TimeoutError, ConnectionError, aiohttp.ClientError) as exc:
            raise SfuUnavailable(type(exc).__name__) from exc
        finally:
            self._pending.pop(transaction, None)
        if answer.get("janus") == "error":
            error = answer.get("error", {})
            raise SfuRefused(str(error.get("reason", "")), int(error.get("code", 0)))
        return answer

    async def _read(self) -> None:
        try:
            async for msg in self._ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                except ValueError:
                    continue
                self._dispatch(message)
        finally:
            self.closed = True
            self._fail_pending()

    def _dispatch(self, message: dict[str, Any]) -> None:
        waiting = self._pending.get(str(message.get("transaction", "")))
        kind = message.get("janus")
        if waiting is not None:
            future, ack = waiting
            if kind == "ack" and not ack:
                return  # the event with the same transaction follows
            if not future.done():
                future.set_result(message)
            return
        if kind in ("ack", "success"):
            return  # an answer nobody waits for any more (timed out)
        sender = message.get("sender")
        self.on_event(int(sender) if sender is not None else None, message)

    def _fail_pending(self) -> None:
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(SfuUnavailable("the Janus session closed"))
        self._pending.clear()

    async def _keep_alive(self) -> None:
        while not self.closed:
            await asyncio.sleep(self._keepalive_every)
            try:
                await self._send({"janus": "keepalive", "session_id": self.session_id},
                                 ack=True)
            except (SfuUnavailable, SfuRefused):
                log_event("sfu.keepalive_failed", logging.WARNING)
                await self._abandon()  # a Janus that hangs is as dead as one that closed
                return

    async def _abandon(self) -> None:
        """Give the session up without asking Janus (it does not answer): closed for good,
        so the next call (or a pool's watcher) opens a new one, elsewhere if need be."""
        self.closed = True
        if self._reader is not None:
            self._reader.cancel()
        self._fail_pending()
        with contextlib.suppress(Exception):
            await self._ws.close()
        await self._http.close()
