"""Online backup and restore of the embedded SQLite store (``alongside backup|restore``).

* :func:`backup` copies the store **while a server serves it**, with SQLite's online
  backup API (``sqlite3.Connection.backup``) on a connection of its own, in one step: the
  copy is the database as of one commit (WAL mode: the server's writes go on meanwhile,
  and whatever it acknowledged before the copy began is in it). The copy is written
  beside the target, checked (``PRAGMA integrity_check``), made a single self-contained
  file (rollback journal, no ``-wal``), synced, then renamed into place.
* :func:`restore` brings a copy back **into a stopped node only**: it takes the store's
  lock file exclusively, which every open :class:`~server.store.sqlite.SqliteStore`
  holds shared, so it refuses while any server has the file open, and no server can open
  it until the restore is done. It checks the copy first (integrity, schema version), keeps
  the store it replaces as ``<store>.before-restore``, and writes the copy in through the
  backup API, so a stale ``-wal`` of the replaced file cannot be replayed over it.

Note: the rate-limit buckets live in the server's memory and are not in a backup.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from server.store.sqlite import SCHEMA_VERSION, hold


class BackupError(Exception):
    """The copy cannot be made or used; the message says why, for the operator."""


@dataclass(frozen=True)
class Copied:
    documents: int
    audit_rows: int


def store_path(url: str) -> str:
    """The file of a ``sqlite:///`` store URL; BackupError for any other store."""
    if not url.startswith("sqlite:///"):
        raise BackupError("alongside backup and restore copy the embedded SQLite store; a "
                          "redis:// store is kept by Redis itself (docs/deploy.md, Backups)")
    path = url.removeprefix("sqlite:///")
    if path == ":memory:":
        raise BackupError("an in-memory store has nothing to back up")
    return path


def _counts(db: sqlite3.Connection) -> Copied:
    return Copied(db.execute("SELECT count(*) FROM docs").fetchone()[0],
                  db.execute("SELECT count(*) FROM audit").fetchone()[0])


def check(path: str) -> Copied:
    """What the file at ``path`` holds, if it is an intact store of this version."""
    if not Path(path).is_file():
        raise BackupError(f"{path}: no such file")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"{path} is damaged: {ok}")
        if version != SCHEMA_VERSION:
            raise BackupError(f"{path} has schema {version}, this Alongside needs "
                              f"{SCHEMA_VERSION}")
        return _counts(db)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an Alongside store ({exc})") from None
    finally:
        db.close()


def _sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: sqlite3.Connection, target: str) -> None:
    """The whole of ``source`` into a fresh file ``target``, synced, one file."""
    db = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(db)  # pages=-1: every page in one step, one consistent snapshot
        db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.close()
    _sync(target)


def backup(store: str, target: str) -> Copied:
    """A consistent copy of the store file ``store`` at ``target`` (replaced if there)."""
    if not Path(store).is_file():
        raise BackupError(f"{store}: no store there (has the server run with it?)")
    if Path(target).resolve() == Path(store).resolve():
        raise BackupError("the backup would overwrite the store itself")
    partial = f"{target}.partial"
    Path(partial).unlink(missing_ok=True)
    lock = hold(store, fcntl.LOCK_SH)  # a server may hold it too; a restore may not
    try:
        source = sqlite3.connect(store)
        try:
            _copy(source, partial)
        finally:
            source.close()
        copied = check(partial)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    finally:
        os.close(lock)
    _sync(str(Path(target).resolve().parent))
    return copied


def restore(copy: str, store: str) -> Copied:
    """Put the backup ``copy`` in place of the store file ``store``; the node must be
    stopped (:class:`~server.store.sqlite.StoreBusy` otherwise)."""
    copied = check(copy)
    Path(store).parent.mkdir(parents=True, exist_ok=True)
    lock = hold(store, fcntl.LOCK_EX)
    try:
        if Path(store).is_file():
            current = sqlite3.connect(store)
            try:
                _copy(current, f"{store}.before-restore")
            finally:
                current.close()
        source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        target = sqlite3.connect(store, isolation_level=None)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")  # as the server keeps it
            target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            target.close()
            source.close()
        _sync(store)
        return copied
    finally:
        os.close(lock)
