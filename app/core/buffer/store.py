"""The buffer database: opening it safely, one writer thread with batched commits, and reads.

Only the writer thread (or, with no recorder running, a command acting directly) writes.
Readers open their own connections; WAL lets them read while the writer commits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from app.core.buffer import schema
from app.core.buffer.crypto import Sealer, load_or_create_key
from app.core.buffer.tx import Tx
from app.core.errors import StorageError
from app.core.model import new_id
from app.core.paths import ensure_private_dir

T = TypeVar("T")
log = logging.getLogger(__name__)
DB_NAME = "buffer.db"
# How long the writer gathers operations into one commit. Short: a crash loses at most this
# plus the capture flush (bench/crash_loss.py); commits in WAL mode with synchronous=NORMAL do
# not wait for the disk, so twenty a second while input flows cost little.
_BATCH_SECONDS = 0.05
_BATCH_MAX_OPS = 512
_STOP = object()
_CHECKPOINT = object()


def _connect(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    return sqlite_utils.Database(conn)


# Errors after which the database cannot take more writes until something outside changes.
_FATAL_CODES = {
    getattr(sqlite3, name)
    for name in (
        "SQLITE_FULL",
        "SQLITE_IOERR",
        "SQLITE_CORRUPT",
        "SQLITE_READONLY",
        "SQLITE_CANTOPEN",
        "SQLITE_NOTADB",
    )
    if hasattr(sqlite3, name)
}


def _fatal(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is None or (code & 0xFF) in _FATAL_CODES


def _stored_version(path: Path) -> int:
    """The schema version of an existing buffer, read without changing a byte of it.

    With no write-ahead log beside it, the version is the `user_version` field of the file
    header (big-endian, offset 60). With a log, the newest header may sit in the log, so an
    ordinary read-only connection reads it: it folds the log in as a reader would and never
    writes. (`immutable=1` would ignore the log and misread a buffer a crash left mid-way.)
    """
    wal = path.with_name(path.name + "-wal")
    if not (wal.exists() and wal.stat().st_size > 0):
        with path.open("rb") as fh:
            header = fh.read(100)
        if len(header) < 100:
            return 0  # an empty file is an empty database to SQLite
        if not header.startswith(b"SQLite format 3\x00"):
            raise sqlite3.DatabaseError("file is not a database")
        return int.from_bytes(header[60:64], "big", signed=True)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return schema.schema_version(conn)
    finally:
        conn.close()


def _refuse_newer(path: Path) -> None:
    found = _stored_version(path)
    if found > schema.LATEST:
        raise StorageError(
            f"{path} was written by a newer Praxis (schema {found}, this one reads up to "
            f"{schema.LATEST}). Update Praxis; the data was left untouched."
        )


def _error_code(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _really_corrupt(path: Path, exc: sqlite3.Error) -> bool:
    """Whether SQLite itself finds the file damaged, not merely unreachable right now."""
    code = _error_code(exc)
    if code == sqlite3.SQLITE_NOTADB or "not a database" in str(exc):
        return True
    if code != sqlite3.SQLITE_CORRUPT and "malformed" not in str(exc):
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return str(conn.execute("PRAGMA quick_check").fetchone()[0]) != "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True


def _unusable(path: Path, exc: BaseException) -> StorageError:
    """Why an intact buffer cannot be opened now, with what to do; nothing is moved."""
    code = _error_code(exc) if isinstance(exc, sqlite3.Error) else 0
    if code == sqlite3.SQLITE_FULL or getattr(exc, "errno", None) == 28:
        return StorageError(
            f"the disk holding {path} is full. The recordings in it are kept; free some space "
            "and try again."
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM) or (
        isinstance(exc, PermissionError)
    ):
        return StorageError(
            f"{path} cannot be written ({exc}). The recordings in it are kept; make its folder "
            f"writable for your user (chmod u+w {path.parent}) or choose another --data-dir."
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StorageError(
            f"{path} is held by another program ({exc}). Close it and try again; nothing was "
            "changed."
        )
    return StorageError(
        f"{path} cannot be opened right now ({exc}). It was left untouched; check the disk "
        "and try again."
    )


def quarantine(path: Path) -> Path:
    """Move a damaged buffer (and its log files) aside under a time-stamped name, owner-only,
    so a fresh buffer can start and the damaged one stays for whoever wants to inspect it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            moved = target.with_name(target.name + suffix)
            os.replace(source, moved)
            if os.name == "posix":
                os.chmod(moved, 0o600)
    return target


def _restrict_files(path: Path) -> None:
    if os.name != "posix":
        return
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(candidate, 0o600)


class _NoKey:
    """Stands in for a sealer where only plain columns (the activity log) are written."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        raise StorageError("internal: nothing may be sealed before the key is fetched")


_NO_KEY: Any = _NoKey()


class Buffer:
    """An opened, migrated buffer with its device id and sealing key."""

    def __init__(self, data_dir: Path, *, create: bool = True) -> None:
        self.data_dir = ensure_private_dir(data_dir) if create else data_dir
        self.path = self.data_dir / DB_NAME
        # Where a damaged buffer was moved when this one started afresh (said once, logged).
        self.quarantined: Path | None = None
        if not create and not self.path.exists():
            raise StorageError(f"there is no buffer in {self.data_dir} yet; nothing was recorded")
        try:
            device_id = self._open()
        except sqlite3.DatabaseError as exc:
            if not _really_corrupt(self.path, exc):
                raise _unusable(self.path, exc) from exc
            self.quarantined = quarantine(self.path)
            # The new buffer starts now, whichever command found the damage, so that its
            # activity log says what happened to the old one.
            device_id = self._open()
            with self.reader() as db:
                Tx(db, _NO_KEY).log(
                    "recovery",
                    f"the buffer was damaged ({exc}); it was moved to {self.quarantined.name} "
                    "and a new buffer was started",
                )
            if not create:
                raise StorageError(
                    f"{self.path} was damaged ({exc}) and was moved to {self.quarantined}. "
                    "A new, empty buffer was started; the damaged file is kept "
                    "for inspection."
                ) from exc
            log.warning(
                "%s was damaged (%s) and was moved to %s; a new buffer was started",
                self.path,
                exc,
                self.quarantined,
            )
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        self.device_id = device_id
        self._sealer: Sealer | None = None
        self._writer: _Writer | None = None

    def _open(self) -> str:
        """Check, migrate and read the device id; raises sqlite3 errors for the caller."""
        if self.path.exists():
            _refuse_newer(self.path)  # before WAL mode or anything else touches the file
        db = _connect(self.path)
        try:
            _restrict_files(self.path)
            schema.migrate(db, self.path)
            return self._device_id(db)
        finally:
            db.close()

    def unlock(self) -> None:
        """Fetch the key now; raises KeyringUnavailable with advice if that is impossible."""
        _ = self.sealer

    @property
    def sealer(self) -> Sealer:
        """The sealing key, fetched from the keyring on first use (counting needs no key)."""
        if self._sealer is None:
            self._sealer = Sealer(load_or_create_key(self.device_id, create=not self.sealed_any()))
        return self._sealer

    def sealed_any(self) -> bool:
        """Whether anything in the buffer was sealed with a key. Only when nothing was may a
        missing key be created: a first start that failed at the keyring left no data, while
        a key lost under existing data must be reported, not silently replaced."""
        with self.reader() as db:
            row = db.execute(
                "SELECT EXISTS(SELECT 1 FROM events) OR EXISTS(SELECT 1 FROM frames)"
                " OR EXISTS(SELECT 1 FROM segments WHERE summary IS NOT NULL)"
            ).fetchone()
        return bool(row[0])

    @staticmethod
    def _device_id(db: sqlite_utils.Database) -> str:
        row = db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        if row:
            return str(row[0])
        device_id = new_id("dev")
        db.execute(
            "INSERT INTO meta(key, value) VALUES ('device_id', ?), ('created_at', ?)",
            [device_id, repr(time.time())],
        )
        return device_id

    # -- connections ---------------------------------------------------------------
    @contextlib.contextmanager
    def reader(self) -> Iterator[sqlite_utils.Database]:
        db = _connect(self.path)
        try:
            yield db
        finally:
            db.close()

    # -- writing -------------------------------------------------------------------
    def start_writer(self, on_error: Callable[[BaseException], None]) -> None:
        """Start the writer, or replace one that a fault stopped."""
        if self._writer is not None and self._writer.failed.is_set():
            self._writer.join(10)
            self._writer = None
        if self._writer is None or not self._writer.alive:
            self._writer = _Writer(self, on_error)
            self._writer.start()

    @property
    def write_backlog(self) -> int:
        """Operations queued for the writer and not yet committed."""
        return 0 if self._writer is None else self._writer.backlog

    @property
    def writer_failure(self) -> BaseException | None:
        """The fault that ended the current writer, if one did."""
        return None if self._writer is None else self._writer.failure

    def stop_writer(self, timeout: float = 10.0) -> None:
        if self._writer is not None:
            self._writer.stop(timeout)
            self._writer = None

    def submit(self, op: Callable[[Tx], T]) -> Future[T]:
        """Queue `op` for the writer; with no writer running it runs at once in this thread."""
        if self._writer is not None:
            return self._writer.submit(op)
        future: Future[T] = Future()
        try:
            future.set_result(self.run_direct(op))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future

    def write(self, op: Callable[[Tx], T], timeout: float = 30.0) -> T:
        return self.submit(op).result(timeout)

    def run_direct(self, op: Callable[[Tx], T]) -> T:
        db = _connect(self.path)
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                result = op(Tx(db, self.sealer))
                db.conn.execute("COMMIT")
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            return result
        finally:
            db.close()

    def dry_run(self, op: Callable[[Tx], T]) -> T:
        """Run `op` on a separate connection and roll it back: its answer, none of its effects."""
        db = _connect(self.path)
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                return op(Tx(db, self.sealer))
            finally:
                db.conn.execute("ROLLBACK")
        finally:
            db.close()

    def checkpoint(self, timeout: float = 30.0) -> None:
        """Fold the WAL into the database and truncate it, so deleted pages do not linger in
        the log. Runs outside any transaction (SQLite refuses it inside one)."""
        if self._writer is not None and self._writer.alive:
            self._writer.checkpoint().result(timeout)
            return
        db = _connect(self.path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()

    def meta(self, key: str) -> str | None:
        with self.reader() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def size_bytes(self) -> int:
        """What the recordings take: the pages in use plus the write-ahead log. The file
        never shrinks when recordings are deleted (its free pages are reused instead), so
        its size on disk would keep a reached disk budget reached for ever."""
        wal = 0
        with contextlib.suppress(FileNotFoundError):
            wal = self.path.with_name(self.path.name + "-wal").stat().st_size
        try:
            with self.reader() as db:
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                free = db.execute("PRAGMA freelist_count").fetchone()[0]
                page_size = db.execute("PRAGMA page_size").fetchone()[0]
        except sqlite3.Error:
            with contextlib.suppress(FileNotFoundError):
                return self.path.stat().st_size + wal
            return wal
        return (pages - free) * page_size + wal


class _Writer:
    """The single writer: drains queued operations into one `BEGIN IMMEDIATE` batch at a time.

    Each operation runs inside its own savepoint, so one failing operation fails only its own
    future. A failed COMMIT (disk full, I/O error) is reported through `on_error`; what was
    committed before stays committed.
    """

    def __init__(self, buffer: Buffer, on_error: Callable[[BaseException], None]) -> None:
        self._buffer = buffer
        self._on_error = on_error
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="praxis-writer", daemon=True)
        self.failed = threading.Event()  # set as soon as a fault ends the writer
        self.failure: BaseException | None = None  # that fault: the cause of what follows

    def start(self) -> None:
        self._thread.start()

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def submit(self, op: Callable[[Tx], T]) -> Future[T]:
        future: Future[T] = Future()
        if self.failed.is_set() or not self._thread.is_alive():
            future.set_exception(StorageError("the buffer writer is not running"))
            return future
        self._queue.put((op, future))
        return future

    def checkpoint(self) -> Future[None]:
        future: Future[None] = Future()
        self._queue.put((_CHECKPOINT, future))
        return future

    def stop(self, timeout: float) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        db = _connect(self._buffer.path)
        tx = Tx(db, self._buffer.sealer)
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                if first is _STOP:
                    break
                batch = [first]
                deadline = time.monotonic() + _BATCH_SECONDS
                while len(batch) < _BATCH_MAX_OPS:
                    try:
                        item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                        break
                    batch.append(item)
                self._commit(db, tx, batch)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException as exc:  # reported, never swallowed
            if self.failure is None:
                self.failure = exc
            self.failed.set()
            self._on_error(exc)
        finally:
            self._fail_pending()
            db.close()

    def _commit(self, db: sqlite_utils.Database, tx: Tx, batch: list[Any]) -> None:
        checkpoints = [future for op, future in batch if op is _CHECKPOINT]
        batch = [item for item in batch if item[0] is not _CHECKPOINT]
        if batch:
            self._commit_ops(db, tx, batch)
        for future in checkpoints:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            future.set_result(None)

    def _commit_ops(self, db: sqlite_utils.Database, tx: Tx, batch: list[Any]) -> None:
        conn = db.conn
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op, future in batch:
                conn.execute("SAVEPOINT op")
                try:
                    value = op(tx)
                    conn.execute("RELEASE op")
                    results.append((future, value, None))
                except sqlite3.Error as exc:
                    if _fatal(exc) or not conn.in_transaction:
                        raise  # disk full, I/O, corruption: the whole batch fails below
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((future, None, exc))
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((future, None, exc))
            conn.execute("COMMIT")
        except BaseException as exc:
            # Marked failed before any future hears of it: a caller woken by that future
            # (a recorder restarting its writer) must already see this writer as gone.
            self.failure = exc
            self.failed.set()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _op, future in batch:
                if not future.done():
                    future.set_exception(exc)
            raise
        for future, value, error in results:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

    def _fail_pending(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                item[1].set_exception(StorageError("the buffer writer stopped"))
