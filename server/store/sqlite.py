"""The embedded store: one SQLite file in WAL mode, written by one process.

Why synchronous sqlite3 in the event loop: each write is one small transaction
(tens of microseconds in WAL mode), and keeping it on the loop makes every
``update_room`` atomic with respect to other coroutines without a lock or a
thread hop. ``synchronous=NORMAL`` in WAL mode loses nothing on a process crash
(SIGKILL); only a power loss can drop the last transactions.

Rooms are cached after the first read: this process is the file's only writer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from server.domain.audit import AuditEntry
from server.domain.room import Room
from server.errors import Code, Refused
from server.store.protocol import StoreUnavailable

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    program TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    room TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_room ON audit(room);
"""


class SqliteStore:
    def __init__(self, path: str) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._rooms: dict[str, Room] = {}

    async def open(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

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

    def _load(self, room_id: str) -> Room | None:
        room = self._rooms.get(room_id)
        if room is None:
            row = self.db.execute("SELECT data FROM rooms WHERE id = ?", (room_id,)).fetchone()
            if row is None:
                return None
            room = Room.from_dict(json.loads(row[0]))
            self._rooms[room_id] = room
        return room

    def _audit(self, entry: AuditEntry) -> None:
        self.db.execute(
            "INSERT INTO audit (at, actor, role, action, target, room, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (entry.at, entry.actor, entry.role, entry.action, entry.target, entry.room,
             entry.outcome),
        )

    def _write(self, room: Room, audit: AuditEntry) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO rooms (id, program, version, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET version = excluded.version, data = excluded.data",
                (room.id, room.program, room.version, json.dumps(room.to_dict())),
            )
            self._audit(audit)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def get_room(self, room_id: str) -> Room | None:
        # Published rooms are never mutated (update_room works on a copy and
        # swaps it in), so handing out the cached object is a consistent snapshot.
        return self._load(room_id)

    async def put_room(self, room: Room, audit: AuditEntry) -> None:
        own = Room.from_dict(room.to_dict())
        self._write(own, audit)
        self._rooms[room.id] = own

    async def create_room(self, room: Room, audit: AuditEntry) -> bool:
        if self._load(room.id) is not None:
            return False
        await self.put_room(room, audit)
        return True

    async def update_room(self, room_id: str, change: Callable[[Room], T],
                          audit: AuditEntry) -> tuple[Room, T]:
        current = self._load(room_id)
        if current is None:
            refusal = Refused(Code.ROOM_NOT_FOUND)
            self._audit(audit.refused(refusal.code.value))
            raise refusal
        # Work on a copy so that a refusal half-way leaves the cached room intact.
        room = Room.from_dict(current.to_dict())
        try:
            result = change(room)
        except Refused as refusal:
            self._audit(audit.refused(refusal.code.value))
            raise
        room.version = current.version + 1
        self._write(room, audit)
        self._rooms[room_id] = room
        return room, result

    async def record(self, audit: AuditEntry) -> None:
        self._audit(audit)

    async def audit_rows(self, room_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, actor, role, action, target, room, outcome FROM audit"
        args: tuple[str, ...] = ()
        if room_id is not None:
            sql += " WHERE room = ?"
            args = (room_id,)
        rows = self.db.execute(sql + " ORDER BY seq", args).fetchall()
        return [AuditEntry(actor=a, role=r, action=ac, target=t, room=rm, outcome=o, at=at)
                for at, a, r, ac, t, rm, o in rows]
