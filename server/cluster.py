"""Running as several app processes on one Redis: delivery between nodes, and node liveness.

python-socketio's stock ``AsyncRedisManager`` handles every emit locally *and*
publishes it, so every node decodes every message, and a publish that fails
twice is dropped. Alongside addresses almost every message to one socket id, so
:class:`ClusterManager` delivers to sockets of this node directly and publishes
only what is for another node, through a bounded, *waiting* connection pool,
retrying with backoff. What still cannot be published is counted and logged;
clients notice the version gap at the next snapshot and ask for a full one.

:class:`NodeHeartbeat` keeps ``alongside:node:<id>`` alive in Redis, so a node
can tell that a peer node died and let go of its sockets' seats (after the
grace period, like any drop).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
import socketio
from socketio.async_manager import AsyncManager

from server.logs import log_event
from server.realtime.codec import OrjsonCodec
from server.realtime.direct import direct_room, send_local

HEARTBEAT_TTL = 10
HEARTBEAT_EVERY = 3
PUBLISH_ATTEMPTS = 4


def pool(url: str, size: int = 20) -> aioredis.BlockingConnectionPool:
    """A pool that makes callers wait for a connection instead of failing past ``size``."""
    return aioredis.BlockingConnectionPool.from_url(
        url, max_connections=size, timeout=5, socket_timeout=5, socket_connect_timeout=3,
        socket_keepalive=True, health_check_interval=15)


class ClusterManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # python-socketio ships no types: its classes are Any
    """Direct delivery for local sockets; Redis pub/sub only for other nodes' sockets.

    Note: only emits addressed to one socket id (or a room with a callback) can
    skip Redis; an emit to a room is published as the stock manager does.
    """

    def __init__(self, url: str, channel: str = "alongside", node_id: str = "") -> None:
        super().__init__(url, channel=channel, json=OrjsonCodec)
        # Messages for one member go to the channel of the node holding their socket,
        # so no other node decodes them; room-wide emits keep the shared channel.
        self.node_id = node_id
        self.published = 0
        self.local = 0
        self.dropped = 0
        self.subscribed = False  # readiness: cross-node delivery is listening
        self._pool: aioredis.BlockingConnectionPool | None = None
        # Called after the listener subscribes again following a failure: messages
        # published meanwhile are gone, so the server resends full snapshots.
        self.on_resubscribe: Callable[[], Awaitable[None]] | None = None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """The stock listener, but its backoff stops at 2 s (not 60 s): when Redis is
        back, cross-node delivery must be back within seconds."""
        delay, subscribed, failed = 0.25, False, False
        while True:
            try:
                if not subscribed:
                    # Its own pubsub object: a failed publish reconnecting must not
                    # swap the listener's connection out from under it.
                    await self._new_pubsub().subscribe(
                        self.channel, *([node_channel(self.channel, self.node_id)]
                                        if self.node_id else []))
                    subscribed, delay = True, 0.25
                    self.subscribed = True
                    if failed and self.on_resubscribe is not None:
                        failed = False
                        asyncio.ensure_future(self.on_resubscribe())
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # any redis-py error: resubscribe after a pause
                log_event("cluster.listen_retry", logging.WARNING, error=type(exc).__name__)
                subscribed, failed, self.subscribed = False, True, False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _listen(self) -> AsyncIterator[Any]:
        """The stock filter, for this node's channel as well as the shared one."""
        channels = {self.channel.encode()}
        if self.node_id:
            channels.add(node_channel(self.channel, self.node_id).encode())
        async for message in self._redis_listen_with_retries():
            if message["channel"] in channels and message["type"] == "message" \
                    and "data" in message:
                yield message["data"]

    def _redis_connect(self) -> None:
        # One pool for the node's lifetime: a reconnect must not leak the old one.
        if self._pool is None:
            self._pool = pool(self.redis_url)
        self.redis = aioredis.Redis(connection_pool=self._pool)
        self.connected = True

    def _new_pubsub(self) -> Any:
        self._redis_connect()
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        return self.pubsub

    async def emit(self, event: str, data: Any, namespace: str | None = None,
                   room: str | None = None, skip_sid: Any = None, callback: Any = None,
                   to: str | None = None, **kwargs: Any) -> Any:
        target = to or room
        ns = namespace or "/"
        if target is not None and callback is None and self.is_connected(target, ns):
            self.local += 1
            direct = direct_room(target, ns, skip_sid, callback)
            if direct is not None:
                return await send_local(self.server, event, data, direct)
            return await AsyncManager.emit(self, event, data, namespace=ns, room=target,
                                           skip_sid=skip_sid)
        return await super().emit(event, data, namespace=namespace, room=room,
                                  skip_sid=skip_sid, callback=callback, to=to, **kwargs)

    async def emit_to_member(self, event: str, data: Any, sid: str, node: str) -> None:
        """Deliver one event to one socket: directly when it is on this node, else on the
        channel of ``node``, the node that holds it (the shared channel if unknown).

        Note: if the socket moved to another node since ``node`` was recorded, the
        message reaches nobody, as an emit to any stale socket id would; the member's
        new socket gets a full snapshot when it joins.
        """
        if node and node != self.node_id and not self.is_connected(sid, "/"):
            await self._publish({"method": "emit", "event": event, "data": [data],
                                 "binary": False, "namespace": "/", "room": sid,
                                 "skip_sid": None, "callback": None,
                                 "host_id": self.host_id},
                                channel=node_channel(self.channel, node))
        else:  # this node's socket (sent directly), or a node we cannot name
            await self.emit(event, data, to=sid)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        """A message from another node: the library's handling, but an event for one
        socket of this node is sent directly (see :mod:`server.realtime.direct`)."""
        room = direct_room(message.get("room"), message.get("namespace", "/"),
                           message.get("skip_sid"), message.get("callback"))
        if room is not None and not message.get("binary") and self.is_connected(room, "/"):
            data = message.get("data") or []
            await send_local(self.server, message["event"],
                             tuple(data) if len(data) != 1 else data[0], room)
            return
        await super()._handle_emit(message)

    async def _publish(self, data: Any, channel: str | None = None) -> Any:
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                if not self.connected:
                    self._redis_connect()
                result = await self.redis.publish(channel or self.channel,
                                                  self.json.dumps(data))
                self.published += 1
                return result
            except Exception as exc:  # redis-py raises many kinds; all mean "not now"
                self.connected = False
                if attempt == PUBLISH_ATTEMPTS - 1:
                    self.dropped += 1
                    log_event("cluster.publish_dropped", logging.ERROR,
                              error=type(exc).__name__, count=self.dropped)
                    return None
                await asyncio.sleep(0.05 * 2 ** attempt)
        return None


def node_channel(channel: str, node: str) -> str:
    return f"{channel}:node:{node}"


class NodeHeartbeat:
    """This node's liveness key, and a check of other nodes' keys."""

    def __init__(self, url: str, node_id: str | None = None) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self.redis = aioredis.Redis(connection_pool=pool(url, size=4))
        self._task: asyncio.Task[None] | None = None
        self.healthy_since: float | None = None  # our own beats succeed since then

    def key(self, node: str) -> str:
        return f"alongside:node:{node}"

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        while True:
            try:
                await self.redis.set(self.key(self.node_id), "1", ex=HEARTBEAT_TTL)
                if self.healthy_since is None:
                    self.healthy_since = time.monotonic()
            except Exception as exc:  # Redis away: keep beating when it returns
                self.healthy_since = None
                log_event("cluster.heartbeat_failed", logging.WARNING, error=type(exc).__name__)
            await asyncio.sleep(HEARTBEAT_EVERY)

    async def alive(self, nodes: set[str]) -> set[str]:
        """The subset of ``nodes`` whose heartbeat is current (this node always is).

        Note: after a Redis outage every key has expired; until our own beats have
        succeeded for a full TTL, others' missing keys prove nothing, so all count
        as alive.
        """
        others = sorted(nodes - {self.node_id, ""})
        settled = self.healthy_since is not None and \
            time.monotonic() - self.healthy_since > HEARTBEAT_TTL + HEARTBEAT_EVERY
        if not others or not settled:
            return nodes
        try:
            values = await self.redis.mget([self.key(n) for n in others])
        except Exception:  # cannot tell: assume alive rather than drop people
            return nodes
        return {self.node_id, ""} & nodes | {n for n, v in zip(others, values, strict=True) if v}

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        try:
            await self.redis.delete(self.key(self.node_id))
        except Exception:  # best effort: the key expires anyway
            pass
        await self.redis.aclose()
