"""The buffer database: opening it safely, one writer thread with batched commits, and reads.

Only the writer thread (or, with no recorder running, a command acting directly) writes.
Readers open their own connections; WAL lets them read while the writer commits.
"""

from __future__ import annotations

import contextlib
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
DB_NAME = "buffer.db"
_BATCH_SECONDS = 0.25
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


def _refuse_newer(path: Path) -> None:
    # immutable: no locks, no -wal or -shm files; a refused buffer stays byte-for-byte as it was.
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        found = schema.schema_version(conn)
    finally:
        conn.close()
    if found > schema.LATEST:
        raise StorageError(
            f"{path} was written by a newer Praxis (schema {found}, this one reads up to "
            f"{schema.LATEST}). Update Praxis; the data was left untouched."
        )


def _restrict_files(path: Path) -> None:
    if os.name != "posix":
        return
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(candidate, 0o600)


class Buffer:
    """An opened, migrated buffer with its device id and sealing key."""

    def __init__(self, data_dir: Path, *, create: bool = True) -> None:
        self.data_dir = ensure_private_dir(data_dir) if create else data_dir
        self.path = self.data_dir / DB_NAME
        if not create and not self.path.exists():
            raise StorageError(f"there is no buffer in {self.data_dir} yet; nothing was recorded")
        is_new = not self.path.exists()
        try:
            if not is_new:
                _refuse_newer(self.path)  # before WAL mode or anything else touches the file
            db = _connect(self.path)
            _restrict_files(self.path)
            schema.migrate(db, self.path)
            device_id = self._device_id(db)
        except sqlite3.DatabaseError as exc:
            raise StorageError(
                f"{self.path} cannot be opened as a Praxis buffer ({exc}). It was left untouched; "
                "move it aside to start a new buffer."
            ) from exc
        self.device_id = device_id
        self._is_new = is_new
        self._sealer: Sealer | None = None
        db.close()
        self._writer: _Writer | None = None

    def unlock(self) -> None:
        """Fetch the key now; raises KeyringUnavailable with advice if that is impossible."""
        _ = self.sealer

    @property
    def sealer(self) -> Sealer:
        """The sealing key, fetched from the keyring on first use (counting needs no key)."""
        if self._sealer is None:
            self._sealer = Sealer(load_or_create_key(self.device_id, create=self._is_new))
        return self._sealer

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
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(FileNotFoundError):
                total += self.path.with_name(self.path.name + suffix).stat().st_size
        return total


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
