"""Numbered schema migrations. Each runs in one transaction; the version lives in the database
(`PRAGMA user_version`), so a buffer always says which code may read it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from app.core.errors import StorageError


def _v1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("sessions").create(
        {"id": str, "started_at": float, "ended_at": float, "app_version": str}, pk="id"
    )
    db.table("segments").create(
        {
            "id": str,
            "session_id": str,
            "state": str,  # see app.core.lifecycle
            "started_at": float,  # wall clock, epoch seconds
            "ended_at": float,
            "screen": str,  # JSON: monitor geometry
            "sealed_reason": str,
            "dropped_events": int,
            "dropped_frames": int,
            "redaction": str,  # JSON: counts per category, never values
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.table("segments").create_index(["session_id"])
    db.table("segments").create_index(["state"])
    # Events: typed metadata in the clear (for ordering and deletion by time), payload sealed.
    db.execute(
        """CREATE TABLE events (
            segment_id TEXT NOT NULL REFERENCES segments(id),
            seq INTEGER NOT NULL,
            t REAL NOT NULL,
            wall REAL NOT NULL,
            type TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (segment_id, seq)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX idx_events_wall ON events(wall)")
    db.execute(
        """CREATE TABLE frames (
            segment_id TEXT NOT NULL REFERENCES segments(id),
            seq INTEGER NOT NULL,
            t REAL NOT NULL,
            wall REAL NOT NULL,
            kind TEXT NOT NULL,          -- key | delta (| same from version 4)
            base_seq INTEGER,            -- previous frame a delta applies to
            w INTEGER NOT NULL,
            h INTEGER NOT NULL,
            codec TEXT NOT NULL,
            trigger TEXT NOT NULL,
            lag_ms REAL NOT NULL,
            size INTEGER NOT NULL,
            blob BLOB NOT NULL,
            PRIMARY KEY (segment_id, seq)
        )"""
    )
    db.execute("CREATE INDEX idx_frames_wall ON frames(wall)")
    db.table("activity").create(
        {"id": int, "ts": float, "kind": str, "message": str}, pk="id", not_null={"ts", "kind"}
    )


def _v2(db: sqlite_utils.Database) -> None:
    """Review before upload: the frozen package hash, who approved and when, and a sealed
    summary of the package so the review list opens without rebuilding every package."""
    for column, kind in (
        ("state_changed_at", "REAL"),
        ("package_sha256", "TEXT"),  # frozen at approval; the egress gate compares against it
        ("package_bytes", "INTEGER"),
        ("approved_at", "REAL"),
        ("approved_how", "TEXT"),  # employee | automatic
        ("summary", "BLOB"),  # sealed JSON: apps, counts, size of the current package
        ("review_since", "REAL"),  # sent back to review after a change: the review clock restarts
    ):
        db.execute(f"ALTER TABLE segments ADD COLUMN {column} {kind}")
    # Nothing may be added to a segment that was deleted: a writer that did not hear of the
    # deletion fails loudly instead of leaving rows that no list shows and no deletion reaches.
    for table in ("events", "frames"):
        db.execute(
            f"""CREATE TRIGGER {table}_not_into_deleted BEFORE INSERT ON {table}
            WHEN (SELECT state FROM segments WHERE id = NEW.segment_id) IN ('deleted', 'purged')
            BEGIN SELECT RAISE(ABORT, 'the segment was deleted'); END"""
        )


def _v3(db: sqlite_utils.Database) -> None:
    """Upload bookkeeping: one row per segment that started to leave, so a restart, a sleep or
    a lost network resumes where it stopped; and a durable queue of erasures to send."""
    db.execute(
        """CREATE TABLE uploads (
            segment_id TEXT PRIMARY KEY REFERENCES segments(id),
            collector TEXT NOT NULL,          -- which collector the URL belongs to
            url TEXT,                         -- path of the tus upload on that collector
            length INTEGER NOT NULL,
            sha256 TEXT NOT NULL,             -- of the package being sent
            offset INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error TEXT,
            quarantined INTEGER NOT NULL DEFAULT 0,  -- refused by the server: waits for a person
            started_at REAL NOT NULL,
            acknowledged_at REAL,
            confirmation TEXT                 -- how the collector confirmed the package
        )"""
    )
    db.execute(
        """CREATE TABLE erasures (
            id INTEGER PRIMARY KEY,
            segment_id TEXT NOT NULL,
            collector TEXT NOT NULL,
            url TEXT NOT NULL,
            queued_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error TEXT,
            confirmed_at REAL
        )"""
    )
    db.execute("CREATE INDEX idx_erasures_open ON erasures(confirmed_at, next_attempt_at)")


def _v4(db: sqlite_utils.Database) -> None:
    """Frames of kind 'same': a click on an unchanged screen, stored without pixels, whose
    `base_seq` names the stored key or delta frame that shows its screen. A Praxis that knows
    only keys and deltas would read one as a broken image, so this version keeps it out.

    The database keeps every such reference whole, whoever writes: a 'same' frame whose frame
    is gone (deleted while the click was on its way) is not inserted, and deleting a frame
    deletes the 'same' frames that show it, since they are the very same pixels."""
    db.execute(
        """CREATE TRIGGER frames_same_needs_its_frame BEFORE INSERT ON frames
        WHEN NEW.kind = 'same' AND NOT EXISTS (SELECT 1 FROM frames WHERE
            segment_id = NEW.segment_id AND seq = NEW.base_seq AND kind IN ('key', 'delta'))
        BEGIN SELECT RAISE(IGNORE); END"""
    )
    db.execute(
        """CREATE TRIGGER frames_same_go_with_their_frame AFTER DELETE ON frames
        WHEN OLD.kind IN ('key', 'delta')
        BEGIN DELETE FROM frames WHERE segment_id = OLD.segment_id AND kind = 'same'
            AND base_seq = OLD.seq; END"""
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]
LATEST = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, path: Path) -> int:
    """Bring the database to LATEST; refuse a newer one. Returns the version found."""
    found = schema_version(db.conn)
    if found > LATEST:
        raise StorageError(
            f"{path} was written by a newer Praxis (schema {found}, this one reads up to "
            f"{LATEST}). Update Praxis; the data was left untouched."
        )
    backup = path.with_name(f"{path.name}.before-v{LATEST}")
    if found and found < LATEST:
        _backup(db.conn, backup)
    for version in range(found + 1, LATEST + 1):
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version - 1](db)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise  # the backup stays, for whoever looks into the failure
    # The backup holds recordings too: once the upgrade is in and checks out, it goes, so a
    # later deletion or withdrawal of consent really removes what it removes.
    if found and found < LATEST and db.execute("PRAGMA quick_check").fetchone()[0] == "ok":
        backup.unlink(missing_ok=True)
    return found


def _backup(conn: sqlite3.Connection, target: Path) -> None:
    target.touch(mode=0o600)  # owner only, like the buffer, before any byte is copied
    os.chmod(target, 0o600)
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
