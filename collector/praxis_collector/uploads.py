"""Uploads in progress on this collector process: a small SQLite index and one partial file each.

Only the process that opened an upload holds its bytes (data dir `partial/`); what is stored is
in the Store. A row outlives its upload as a tombstone (`gone`) so a late request hears 410, not
404.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from praxis_collector.metadata import UploadMetadata

PARTIAL, COMPLETE, GONE = "partial", "complete", "gone"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    length INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    touched_at REAL NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_segment ON uploads (device_id, segment_id);
CREATE INDEX IF NOT EXISTS uploads_state ON uploads (state, touched_at);
"""


@dataclass
class Upload:
    id: str
    token_id: str
    device_id: str
    segment_id: str
    sha256: str
    length: int
    offset: int
    metadata: UploadMetadata
    created_at: float
    touched_at: float
    state: str


def _row(row: sqlite3.Row) -> Upload:
    data = dict(row)
    data["metadata"] = UploadMetadata(**json.loads(data["metadata"]))
    return Upload(**data)


class UploadIndex:
    def __init__(self, data_dir: Path) -> None:
        self.partial_dir = data_dir / "partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            data_dir / "uploads.db", check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # The index is used from the event loop, so a commit must not wait for the disk. In WAL
        # mode NORMAL syncs only at checkpoints: a crash of the process loses nothing, a power
        # cut may lose the last offsets, which reconcile() and the client's HEAD make good (an
        # offset only ever goes back to bytes the partial file really holds, and a completion
        # forgotten this way is answered again from the stored package's record).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def partial_path(self, upload_id: str) -> Path:
        return self.partial_dir / upload_id

    def add(self, upload: Upload) -> None:
        meta = upload.metadata
        with self._tx() as db:
            db.execute(
                "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    upload.id,
                    upload.token_id,
                    upload.device_id,
                    upload.segment_id,
                    upload.sha256,
                    upload.length,
                    upload.offset,
                    json.dumps(meta.__dict__),
                    upload.created_at,
                    upload.touched_at,
                    upload.state,
                ],
            )

    def get(self, upload_id: str) -> Upload | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM uploads WHERE id = ?", [upload_id]).fetchone()
        return None if row is None else _row(row)

    def set_offset(self, upload_id: str, offset: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE uploads SET offset = ?, touched_at = ? WHERE id = ?",
                [offset, time.time(), upload_id],
            )

    def set_state(self, upload_id: str, state: str, offset: int | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE uploads SET state = ?, offset = coalesce(?, offset), touched_at = ?"
                " WHERE id = ?",
                [state, offset, time.time(), upload_id],
            )

    def of_segment(self, device_id: str, segment_id: str) -> list[Upload]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM uploads WHERE device_id = ? AND segment_id = ?",
                [device_id, segment_id],
            ).fetchall()
        return [_row(r) for r in rows]

    def reserved(self, device_id: str, since: float) -> list[tuple[str, str, int]]:
        """(segment, sha256, bytes) promised to this device's partial uploads that have not
        expired. Uploads of the same segment and content count once: a client whose creation
        answer was lost creates again, and only one of them can ever be stored."""
        with self._lock:
            rows = self._db.execute(
                "SELECT segment_id, sha256, max(length) FROM uploads"
                " WHERE device_id = ? AND state = ? AND touched_at >= ?"
                " GROUP BY segment_id, sha256",
                [device_id, PARTIAL, since],
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def has_partial(self, device_id: str, segment_id: str, sha256: str, since: float) -> bool:
        """Whether an unexpired partial upload of this content already reserves its bytes."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM uploads WHERE device_id = ? AND segment_id = ? AND sha256 = ?"
                " AND state = ? AND touched_at >= ? LIMIT 1",
                [device_id, segment_id, sha256, PARTIAL, since],
            ).fetchone()
        return row is not None

    def expire(self, before: float, keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Mark partial uploads last touched before `before` gone, except those in `keep`
        (a request is writing them right now); their ids."""
        with self._tx() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM uploads WHERE state = ? AND touched_at < ?", [PARTIAL, before]
                )
                if r[0] not in keep
            ]
            db.executemany("UPDATE uploads SET state = ? WHERE id = ?", [(GONE, i) for i in ids])
        return ids

    def reconcile(self) -> None:
        """After a crash: a partial file shorter than its recorded offset sets the offset, and
        files without a live upload are removed."""
        live = {}
        with self._lock:
            rows = self._db.execute("SELECT id, offset FROM uploads WHERE state = ?", [PARTIAL])
            live = {row[0]: row[1] for row in rows}
        for path in self.partial_dir.iterdir():
            if path.name not in live:
                path.unlink(missing_ok=True)
        for upload_id, offset in live.items():
            path = self.partial_path(upload_id)
            size = path.stat().st_size if path.exists() else 0
            if not path.exists():
                path.touch()
            if size != offset:
                with open(path, "rb+") as fh:
                    fh.truncate(min(size, offset))
                with self._tx() as db:
                    db.execute(
                        "UPDATE uploads SET offset = ? WHERE id = ?", [min(size, offset), upload_id]
                    )
