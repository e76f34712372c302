"""The SQLite store checkpoints its WAL on a thread of its own, never in a commit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from server.domain.audit import AuditEntry
from server.store.protocol import Doc, Key
from server.store.sqlite import CHECKPOINT_EVERY, SqliteStore


def wal_frames_left(path: Path) -> int:
    """WAL frames not yet copied into the database file (a read-only look)."""
    db = sqlite3.connect(path)
    try:
        busy, frames, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames) - int(done)
    finally:
        db.close()


async def test_commits_are_checkpointed_off_the_loop_and_survive(tmp_path: Path) -> None:
    path = tmp_path / "alongside.db"
    store = SqliteStore(str(path))
    await store.open()
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for i in range(CHECKPOINT_EVERY * 3):
        key: Key = ("room", f"r{i % 7}")

        def write(docs: dict[Key, Doc | None], key: Key = key, i: int = i) -> None:
            docs[key] = {"id": key[1], "program": "p", "n": i, "pad": "x" * 2000}
        await store.transact([key], write, AuditEntry(actor="a", role="clinician",
                                                      action="join", room=key[1], program="p"))
    thread = store._checkpointer
    assert thread is not None and thread._thread.is_alive()
    for _ in range(100):  # the thread copies pages into the database file
        if path.stat().st_size > 64 * 1024:
            break
        await asyncio.sleep(0.05)
    assert path.stat().st_size > 64 * 1024
    await store.close()
    assert not thread._thread.is_alive()
    assert wal_frames_left(path) == 0

    again = SqliteStore(str(path))
    await again.open()
    doc = await again.read(("room", "r0"))
    assert doc is not None and doc["n"] == max(i for i in range(CHECKPOINT_EVERY * 3) if i % 7 == 0)
    assert len(await again.audit_rows(program="p")) == CHECKPOINT_EVERY * 3
    await again.close()
