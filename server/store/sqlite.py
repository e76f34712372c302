"""The embedded store: one SQLite file in WAL mode, written by one process.

Why synchronous sqlite3 in the event loop: each write is one small transaction
(tens of microseconds in WAL mode), and keeping it on the loop makes every
``transact`` atomic with respect to other coroutines without a lock or a thread
hop. ``synchronous=NORMAL`` in WAL mode loses nothing on a process crash
(SIGKILL); only a power loss can drop the last transactions.

Documents are cached after the first read: this process is the file's only
writer, and a committed document is never mutated (``transact`` works on
copies and swaps them in).

Checkpoints (copying the WAL back into the database file, with an fsync) run on
a thread of their own, not inside whichever commit crossed SQLite's automatic
threshold: that commit used to stall the event loop for milliseconds.

While open, the store holds a shared lock on ``<path>.lock`` (``flock``): ``alongside
restore`` takes it exclusively, so it refuses while any process serves the file, and a
server cannot open the file mid-restore (``server/store/sqlite_backup.py``).
"""

from __future__ import annotations

import builtins
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import orjson

from server.domain.audit import AuditEntry
from server.errors import Refused
from server.store.buckets import Buckets
from server.store.protocol import Doc, Key, StoreUnavailable, as_list

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    program TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS docs_program ON docs(kind, program);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    room TEXT NOT NULL,
    program TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_room ON audit(room);
CREATE INDEX IF NOT EXISTS audit_program ON audit(program);
"""

SCHEMA_VERSION = 2

AUDIT_COLUMNS = ("at", "actor", "role", "action", "target", "room", "program", "outcome")


# Commits between two nudges of the checkpoint thread: a commit writes a few pages
# and SQLite's own automatic checkpoint comes at 1000 pages.
CHECKPOINT_EVERY = 100

AUDIT_INSERT = (f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})")


class StoreBusy(RuntimeError):
    """The store's lock is held the other way: a restore runs, or a server serves it."""


def hold(path: str, mode: int) -> int:
    """Take ``<path>.lock`` in ``mode`` (``fcntl.LOCK_SH`` or ``LOCK_EX``) without waiting;
    the descriptor to close to let go. Raises :class:`StoreBusy`.

    Note: ``flock`` locks end with the process, so a killed server leaves no stale lock.
    """
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreBusy(f"{path} is locked: " + (
            "a restore is running" if mode == fcntl.LOCK_SH else
            "a server has it open; stop every node that uses it first")) from None
    return fd


class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection and thread
    when nudged. A passive checkpoint never blocks the writer, and sqlite3 lets
    go of the GIL while it works; durability is SQLite's WAL as before."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # the next nudge tries again
        finally:
            db.close()

    def nudge(self) -> bool:
        """Ask for a checkpoint; False if the thread is gone (check inline then)."""
        if not self._thread.is_alive():
            return False
        self._wake.set()
        return True

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)


class SqliteStore:
    def __init__(self, path: str) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._cache: dict[Key, Doc | None] = {}
        # The committed JSON text of each cached document: private copies for
        # ``transact`` are decoded from it, several times cheaper than deepcopy.
        self._text: dict[Key, str] = {}
        self._checkpointer: Checkpointer | None = None
        self._commits = 0
        self._buckets = Buckets()  # rate limits (take_token)
        self._lock: int | None = None  # the shared lock on <path>.lock while open

    async def open(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            if self._lock is None:
                self._lock = hold(self._path, fcntl.LOCK_SH)
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        found = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        if tables[0] and found != SCHEMA_VERSION:
            db.close()
            raise RuntimeError(f"{self._path} has schema {found}, this Alongside needs "
                               f"{SCHEMA_VERSION}; move the file away to start afresh")
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if self._path != ":memory:" and self._checkpointer is None:
            db.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = Checkpointer(self._path)
        self._db = db

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._db is not None:  # the last connection to close checkpoints the rest
            self._db.close()
            self._db = None
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor lets go of the lock
            self._lock = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailable("store is closed")
        return self._db

    async def ping(self) -> None:
        try:
            self.db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc

    def _load(self, key: Key) -> Doc | None:
        if key in self._cache:
            return self._cache[key]
        row = self.db.execute("SELECT data FROM docs WHERE kind = ? AND id = ?", key).fetchone()
        doc = None if row is None else orjson.loads(row[0])
        if row is not None:
            self._text[key] = row[0]
        self._cache[key] = doc
        return doc

    def _copy(self, key: Key) -> Doc | None:
        if self._load(key) is None:
            return None
        copied: Doc = orjson.loads(self._text[key])
        return copied

    def _audit(self, entries: list[AuditEntry]) -> None:
        self.db.executemany(AUDIT_INSERT, [
            (e.at, e.actor, e.role, e.action, e.target, e.room, e.program, e.outcome)
            for e in entries])

    async def read(self, key: Key) -> Doc | None:
        return self._load(key)

    async def list(self, kind: str, program: str) -> builtins.list[Doc]:
        rows = self.db.execute("SELECT id FROM docs WHERE kind = ? AND program = ? ORDER BY id",
                               (kind, program)).fetchall()
        return [d for (doc_id,) in rows if (d := self._load((kind, doc_id))) is not None]

    async def transact(self, keys: Sequence[Key], change: Callable[[dict[Key, Doc | None]], T],
                       audit: AuditEntry | Sequence[AuditEntry]) -> T:
        entries = as_list(audit)
        before = {key: self._load(key) for key in keys}
        docs = {key: self._copy(key) for key in keys}
        try:
            result = change(docs)
        except Refused as refusal:
            self._audit([e.refused(refusal.code.value) for e in entries])
            raise
        if set(docs) - set(keys):  # (docs may gain keys only through change)
            raise ValueError("transact writes only the keys it was given")
        changed = {k: d for k, d in docs.items() if d is not None and d != before.get(k)}
        db = self.db
        texts: dict[Key, str] = {}
        db.execute("BEGIN IMMEDIATE")
        try:
            for (kind, doc_id), doc in changed.items():
                doc["version"] = int((before.get((kind, doc_id)) or {}).get("version", 0)) + 1
                texts[(kind, doc_id)] = text = orjson.dumps(doc).decode()
                db.execute(
                    "INSERT INTO docs (kind, id, program, version, data) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(kind, id) DO UPDATE SET program = excluded.program,"
                    " version = excluded.version, data = excluded.data",
                    (kind, doc_id, str(doc.get("program", "")), doc["version"], text))
            self._audit(entries)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._after_commit()
        self._cache.update(changed)
        self._text.update(texts)
        return result

    def _after_commit(self) -> None:
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY or self._checkpointer is None:
            return
        self._commits = 0
        if not self._checkpointer.nudge():
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def record(self, audit: AuditEntry) -> None:
        self._audit([audit])
        self._after_commit()

    async def audit_rows(self, *, program: str | None = None,
                         room: str | None = None) -> builtins.list[AuditEntry]:
        sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE 1 = 1"
        args: list[str] = []
        if program is not None:
            sql += " AND program = ?"
            args.append(program)
        if room is not None:
            sql += " AND room = ?"
            args.append(room)
        rows = self.db.execute(sql + " ORDER BY seq", args).fetchall()
        return [AuditEntry(**dict(zip(AUDIT_COLUMNS, row, strict=True))) for row in rows]

    async def take_token(self, bucket: str, rate: float, burst: int) -> int:
        """In this process's memory: it is the file's only writer (server/store/buckets.py).

        Note: the buckets start full again when the process restarts.
        """
        return self._buckets.take(bucket, rate, burst)
