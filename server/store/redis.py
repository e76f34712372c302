"""The shared store: Redis, so several server nodes can serve the same rooms.

Layout (every key starts with ``alongside:``):

* ``alongside:doc:{kind}:{id}``: the document as a JSON string (its ``version`` inside);
* ``alongside:index:{kind}:{program}``: a set of the ids of ``kind`` in ``program``;
* ``alongside:audit``: a Redis Stream, one entry per :class:`AuditEntry`, its fields
  the entry's fields;
* ``alongside:commit:{token}``: a short-lived marker each commit writes, so a commit
  whose reply was lost is recognised instead of applied twice (see ``transact``).

A ``transact`` is optimistic: WATCH the documents, read them, run ``change`` on
copies, then MULTI / write documents, index and audit rows / EXEC. If another
node wrote a watched key in between, EXEC does nothing and the whole round runs
again on the new state. Within one process, transactions on the same keys take
turns on a local lock first, so WATCH only ever arbitrates between nodes and a
burst on one room does not turn into a retry storm.

Durability is Redis's: run it with ``appendonly yes`` and ``appendfsync always``
(``everysec`` can lose up to a second of acknowledged writes if Redis's host dies).
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import dataclasses
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final, Generic, TypeVar, cast

import orjson
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    WatchError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)

from server.domain.audit import AuditEntry
from server.errors import Refused
from server.store import redis_buckets
from server.store.protocol import Doc, Key, StoreUnavailable, as_list
from server.store.recent import CHANNEL, RecentDocs

T = TypeVar("T")

PREFIX: Final = "alongside"
AUDIT_STREAM: Final = f"{PREFIX}:audit"
AUDIT_FIELDS: Final = tuple(f.name for f in dataclasses.fields(AuditEntry))

MAX_ATTEMPTS: Final = 20
"""Optimistic rounds before ``transact`` gives up with :class:`StoreUnavailable`."""
BACKOFF_BASE: Final = 0.001
BACKOFF_CAP: Final = 0.05
MARKER_TTL_MS: Final = 120_000
"""How long a commit marker outlives its commit; far longer than any reply can be late."""
AUDIT_PAGE: Final = 1000

POOL_SIZE: Final = 50
POOL_WAIT: Final = 5.0
"""Seconds a call waits for a free pooled connection before the store counts as unavailable."""
SOCKET_TIMEOUT: Final = 5.0
CONNECT_TIMEOUT: Final = 2.0
HEALTH_CHECK_INTERVAL: Final = 15
COMMAND_RETRIES: Final = 3

# Server replies that mean "not now" rather than "wrong request".
UNAVAILABLE_REPLIES: Final = ("MISCONF", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN")


def doc_key(key: Key) -> str:
    kind, doc_id = key
    if ":" in kind:
        raise ValueError(f"document kind may not contain ':': {kind!r}")
    return f"{PREFIX}:doc:{kind}:{doc_id}"


def index_key(kind: str, program: str) -> str:
    if ":" in kind:
        raise ValueError(f"document kind may not contain ':': {kind!r}")
    return f"{PREFIX}:index:{kind}:{program}"


def is_unavailable(exc: BaseException) -> bool:
    """Whether a redis-py error means the backend cannot serve now (not a bug of ours)."""
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError,
                        ReadOnlyError, OutOfMemoryError)):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(UNAVAILABLE_REPLIES)


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Turn redis-py's "cannot serve now" errors into :class:`StoreUnavailable`.

    Note: the message names the error type only; redis-py's own messages can carry
    the host and port.
    """
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc
        raise


def audit_fields(entry: AuditEntry) -> dict[Any, Any]:
    return {name: getattr(entry, name) for name in AUDIT_FIELDS}


def audit_entry(fields: dict[str, str]) -> AuditEntry:
    values: dict[str, Any] = {name: fields.get(name, "") for name in AUDIT_FIELDS}
    values["at"] = float(fields.get("at", 0.0))
    return AuditEntry(**values)


@dataclasses.dataclass
class _Outcome(Generic[T]):
    """What one optimistic round handed to EXEC: a result, or a refusal."""

    result: T | None = None
    refusal: Refused | None = None
    written: list[str] = dataclasses.field(default_factory=list)


class KeyLocks:
    """In-process mutual exclusion per Redis key, taken in sorted order (no deadlock).

    Note: only orders transactions of *this* process; other nodes are kept out by WATCH.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, names: Iterable[str]) -> AsyncIterator[None]:
        ordered = sorted(set(names))
        for name in ordered:
            self._users[name] = self._users.get(name, 0) + 1
            self._locks.setdefault(name, asyncio.Lock())
        held: list[asyncio.Lock] = []
        try:
            for name in ordered:
                lock = self._locks[name]
                await lock.acquire()
                held.append(lock)
            yield
        finally:
            for lock in reversed(held):
                lock.release()
            for name in ordered:
                self._users[name] -= 1
                if self._users[name] == 0:
                    del self._users[name]
                    del self._locks[name]


class RedisStore:
    """The :class:`~server.store.protocol.Store` contract on one Redis (or a primary).

    :param url: ``redis://[user:password@]host:port/db`` or ``rediss://`` for TLS.

    Connections come from a bounded pool that *waits* (up to ``POOL_WAIT`` seconds)
    when all ``POOL_SIZE`` connections are busy, so a burst queues instead of failing.
    Each command retries connection errors and timeouts ``COMMAND_RETRIES`` times with
    jittered exponential backoff; after that the store raises :class:`StoreUnavailable`.

    Note: ``read`` always goes to Redis, since other nodes write too; only
    ``read_recent`` serves this node's copies (see :mod:`server.store.recent`).
    Note: ``open`` does not contact Redis; ``ping`` is the readiness check.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._redis: aioredis.Redis | None = None
        self._locks = KeyLocks()
        self._recent = RecentDocs()

    # -- lifecycle ---------------------------------------------------------------
    async def open(self) -> None:
        if self._redis is not None:
            return
        pool = aioredis.BlockingConnectionPool.from_url(
            self._url,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_keepalive=True,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), COMMAND_RETRIES),
        )
        self._redis = aioredis.Redis.from_pool(pool)
        self._recent.start(lambda: aioredis.Redis.from_url(
            self._url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT,
            socket_keepalive=True, health_check_interval=HEALTH_CHECK_INTERVAL))

    async def close(self) -> None:
        await self._recent.stop()
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreUnavailable("store is closed")
        return self._redis

    @property
    def serving_copies(self) -> bool:
        """Whether ``read_recent`` may answer from this node's copies: it is subscribed."""
        return self._recent.live

    async def ping(self) -> None:
        with unavailable_on_outage():
            await self.redis.ping()

    # -- reads -------------------------------------------------------------------
    async def read(self, key: Key) -> Doc | None:
        """The document as last committed (a fresh copy: this store keeps no cache)."""
        name = doc_key(key)
        with unavailable_on_outage():
            raw = await self.redis.get(name)
        return None if raw is None else cast(Doc, orjson.loads(raw))

    async def read_recent(self, key: Key) -> Doc | None:
        """This node's copy of the document, else ``read`` (and keep a copy).

        Note: a copy can lag a commit on another node by one pub/sub hop; this
        node's own commits drop its copies before ``transact`` returns.
        Note: the copy is shared; never change it.
        """
        name = doc_key(key)
        doc = self._recent.get(name)
        if doc is not None:
            return doc
        ticket = self._recent.ticket(name)
        doc = await self.read(key)
        if doc is not None:
            self._recent.keep(name, ticket, doc)
        return doc

    async def list(self, kind: str, program: str) -> builtins.list[Doc]:
        """Every document of ``kind`` in ``program``, ordered by id like the SQLite store.

        Note: the index and the documents are read in two steps, so a document
        written in between shows in its newer committed version.
        """
        with unavailable_on_outage():
            ids = sorted(cast(set[str], await self.redis.smembers(index_key(kind, program))))
            raws = await self.redis.mget([doc_key((kind, i)) for i in ids]) if ids else []
        docs = [orjson.loads(raw) for raw in raws if raw is not None]
        return [d for d in docs if str(d.get("program", "")) == program]

    async def audit_rows(self, *, program: str | None = None,
                         room: str | None = None) -> builtins.list[AuditEntry]:
        """Every audit row in commit order, optionally only one program's or room's.

        Note: reads the whole stream page by page; meant for tests and export, not
        for a request path.
        """
        rows: builtins.list[AuditEntry] = []
        start = "-"
        with unavailable_on_outage():
            while True:
                page = cast(builtins.list[tuple[str, dict[str, str]]], await self.redis.xrange(
                    AUDIT_STREAM, min=start, max="+", count=AUDIT_PAGE))
                for _, fields in page:
                    entry = audit_entry(fields)
                    if (program is None or entry.program == program) and \
                            (room is None or entry.room == room):
                        rows.append(entry)
                if len(page) < AUDIT_PAGE:
                    return rows
                start = "(" + page[-1][0]

    # -- writes ------------------------------------------------------------------
    async def record(self, audit: AuditEntry) -> None:
        """Append one audit row on its own (refusals outside any write).

        Note: goes through the same commit path as ``transact`` (with no documents),
        so a retried append after a lost reply does not write the row twice.
        """
        await self.transact([], lambda docs: None, audit)

    async def transact(self, keys: Sequence[Key],
                       change: Callable[[dict[Key, Doc | None]], T],
                       audit: AuditEntry | Sequence[AuditEntry]) -> T:
        """Apply ``change`` to private copies of ``keys`` and commit them atomically.

        One round: WATCH the documents (and this call's commit marker), read them,
        run ``change`` on deep copies, then in one MULTI/EXEC write every changed
        document with ``version`` + 1 and its program index entry, append the audit
        rows to the stream and set the commit marker. If a watched key changed
        meanwhile, EXEC writes nothing and the round runs again (up to
        ``MAX_ATTEMPTS`` times, with a short jittered pause), on the new state.

        If ``change`` raises :class:`Refused`, the round commits only the audit rows
        marked refused (still under WATCH, so the refusal is judged on committed
        state) and the exception propagates.

        Note: ``change`` may run more than once, so it must be a pure function of
        its input documents; it must not await.
        Note: ``change`` may only put documents under ``keys``; putting ``None``
        deletes nothing (as in the SQLite store).
        Note: if the connection drops after EXEC was sent, the next round first
        looks for this call's commit marker: if the earlier EXEC did commit, its
        outcome is returned and nothing is applied twice. If Redis stays
        unreachable, :class:`StoreUnavailable` is raised and the write may or may
        not have committed.

        :raises StoreUnavailable: Redis unreachable, or still contended after
            ``MAX_ATTEMPTS`` rounds.
        """
        entries = as_list(audit)
        names = {key: doc_key(key) for key in keys}
        marker = f"{PREFIX}:commit:{uuid.uuid4().hex}"
        outcomes: list[_Outcome[T]] = []
        with unavailable_on_outage():
            async with self._locks.hold(names.values()):
                for attempt in range(MAX_ATTEMPTS):
                    if attempt:
                        await asyncio.sleep(random.uniform(
                            0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt)))
                    try:
                        async with self.redis.pipeline(transaction=True) as pipe:
                            committed = await self._round(pipe, names, change, entries, marker,
                                                          outcomes)
                    except WatchError:
                        continue
                    self._recent.drop(committed.written)
                    if committed.refusal is not None:
                        raise committed.refusal
                    return committed.result  # type: ignore[return-value]
        raise StoreUnavailable(f"gave up after {MAX_ATTEMPTS} conflicting writes on "
                               f"{sorted(names.values())}")

    async def _round(self, pipe: Pipeline, names: dict[Key, str],
                     change: Callable[[dict[Key, Doc | None]], T],
                     entries: builtins.list[AuditEntry], marker: str,
                     outcomes: builtins.list[_Outcome[T]]) -> _Outcome[T]:
        """One optimistic round; raises :class:`WatchError` when it has to run again."""
        await pipe.watch(marker, *names.values())
        if outcomes:
            # An earlier round's EXEC may have committed though its reply was lost.
            done = await pipe.get(marker)
            if done is not None:
                return outcomes[int(done)]
        raws = await pipe.mget(list(names.values())) if names else []
        before: dict[Key, Doc | None] = {
            key: None if raw is None else orjson.loads(raw)
            for key, raw in zip(names, raws, strict=True)}
        docs = copy.deepcopy(before)
        outcome: _Outcome[T]
        try:
            outcome = _Outcome(result=change(docs))
        except Refused as refusal:
            outcome = _Outcome(refusal=refusal)
        if outcome.refusal is None and set(docs) - set(names):
            raise ValueError(f"change put documents under keys it did not declare: "
                             f"{sorted(set(docs) - set(names))}")
        pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        if outcome.refusal is None:
            for key, doc in docs.items():
                old = before.get(key)
                if doc is None or doc == old:
                    continue
                kind, doc_id = key
                doc["version"] = int((old or {}).get("version", 0)) + 1
                program = str(doc.get("program", ""))
                pipe.set(names[key], orjson.dumps(doc))
                outcome.written.append(names[key])
                pipe.sadd(index_key(kind, program), doc_id)
                if old is not None and str(old.get("program", "")) != program:
                    pipe.srem(index_key(kind, str(old.get("program", ""))), doc_id)
            rows = entries
            if outcome.written:  # other nodes drop their copies (server.store.recent)
                pipe.publish(CHANNEL, " ".join(outcome.written))
        else:
            rows = [e.refused(outcome.refusal.code.value) for e in entries]
        for entry in rows:
            pipe.xadd(AUDIT_STREAM, audit_fields(entry))
        pipe.set(marker, str(len(outcomes)), px=MARKER_TTL_MS)
        outcomes.append(outcome)
        await pipe.execute()
        return outcome

    # -- rate limits -------------------------------------------------------------
    async def take_token(self, bucket: str, rate: float, burst: int) -> int:
        """One bucket for every node, ``alongside:bucket:{bucket}`` (server/store/redis_buckets.py)."""
        with unavailable_on_outage():
            return await redis_buckets.take(self.redis, f"{PREFIX}:bucket:{bucket}", rate, burst)
