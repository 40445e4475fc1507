"""Sending one approved package over tus, from wherever its upload stands.

The bookkeeping is written as the bytes go (without waiting for each commit: HEAD tells the
truth on resume), and every write also says whether the segment still wants uploading, so a
deletion in the middle stops the upload at the next chunk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urljoin

from app.core.buffer import uploads
from app.core.buffer.store import Buffer
from app.core.package import FORMAT_VERSION, Package
from app.core.upload.endpoint import relative_path
from app.core.upload.target import Target
from app.core.upload.tus import (
    ACK_HEADER,
    ChecksumMismatch,
    Head,
    OffsetConflict,
    Refused,
    Retryable,
    ServerInfo,
    TusClient,
    UploadGone,
)

CHUNK_BYTES = 4 * 1024 * 1024
_MAX_CHECKSUM_RESENDS = 3
_RECORD_EVERY_S = 1.0
_MAX_OFFSET_CONFLICTS = 5  # per attempt: the server keeps disagreeing, so try again later
_MAX_NEW_UPLOADS = 2  # per attempt: an upload that vanishes twice in a row is a server problem

Progress = Callable[[str, int, int], None]  # segment id, bytes on the server, package bytes


def _progress(segment_id: str, offset: int, tx: Any) -> bool:
    return uploads.record_progress(tx, segment_id, offset)


class Abandoned(Exception):
    """The segment was deleted or changed while it was being sent: stop, nothing to record."""


@dataclass
class Sender:
    buffer: Buffer
    client: TusClient
    target: Target
    info: ServerInfo
    stop: threading.Event
    progress: Progress
    limit_bytes_s: int = 0
    chunk_bytes: int = CHUNK_BYTES

    def send(self, package: Package) -> str:
        """Deliver the package; returns how the collector confirmed it."""
        row = self.buffer.write(
            lambda tx: uploads.begin(
                tx, package.segment_id, self.target.key, package.size, package.sha256
            )
        )
        with self.buffer.reader() as db:
            if uploads.erasure_pending(db, package.segment_id, self.target.key):
                # The collector erases all it holds for the segment when the old upload is
                # deleted: a new upload must not be stored there before that happened.
                raise Retryable("the earlier upload of this segment is erased first")
        url = urljoin(self.target.files_url, row.url) if row.url else None
        for _ in range(_MAX_NEW_UPLOADS):
            try:
                if url is None:
                    url, head = self._create(package)
                else:
                    head = self.client.head(url)
                if head.length is not None and head.length != package.size:
                    raise UploadGone("the upload on the collector has another length")
                return self._send_from(package, url, head)
            except UploadGone:
                url = None
                self._record(
                    self.buffer.submit(lambda tx: uploads.set_url(tx, package.segment_id, None))
                )
        raise Retryable("the collector dropped the upload twice in a row")

    def _create(self, package: Package) -> tuple[str, Head]:
        metadata = {
            "segment_id": package.segment_id,
            "device_id": self.buffer.device_id,
            "sha256": package.sha256,
            "format_version": str(FORMAT_VERSION),
            "filename": f"{package.segment_id}.zip",
        }
        url, head = self.client.create(package.size, metadata)
        path = relative_path(url)
        ok = self.buffer.write(lambda tx: uploads.set_url(tx, package.segment_id, path))
        if not ok:
            raise Abandoned(package.segment_id)
        return url, head

    def _send_from(self, package: Package, url: str, head: Head) -> str:
        with uploads.watch_forget(package.segment_id) as forgotten:
            return self._send_watched(package, url, head, forgotten)

    def _send_watched(
        self, package: Package, url: str, head: Head, forgotten: threading.Event
    ) -> str:
        checksum = self.info.sha256_checksums
        offset = head.offset
        last = head
        pending: Future[bool] | None = None
        next_record = 0.0
        resends = 0
        conflicts = 0
        self.progress(package.segment_id, offset, package.size)
        while offset < package.size:
            if self.stop.is_set():
                raise Retryable("stopped before the upload finished")
            if forgotten.is_set():
                raise Abandoned("the segment was deleted or changed while it was being sent")
            if pending is not None and pending.done():
                self._record(pending)
                pending = None
            chunk = package.data[offset : offset + self._chunk_size()]
            started = time.monotonic()
            try:
                last = self.client.patch(url, offset, chunk, checksum=checksum)
            except ChecksumMismatch:
                resends += 1
                if resends > _MAX_CHECKSUM_RESENDS:
                    raise Retryable("chunks keep arriving damaged at the collector") from None
                continue
            except OffsetConflict:
                conflicts += 1
                if conflicts > _MAX_OFFSET_CONFLICTS:
                    raise Retryable("the collector keeps reporting another offset") from None
                last = self.client.head(url)
                offset = last.offset
                continue
            resends = 0
            if last.offset <= offset or last.offset > package.size:
                raise Retryable(f"the collector reported offset {last.offset} after {offset}")
            offset = last.offset
            if time.monotonic() >= next_record or offset >= package.size:
                # Written about once a second: HEAD tells the truth on resume, so the stored
                # offset only saves a round trip, and the bytes need not wait for the disk.
                pending = self.buffer.submit(partial(_progress, package.segment_id, offset))
                next_record = time.monotonic() + _RECORD_EVERY_S
            self.progress(package.segment_id, offset, package.size)
            self._pace(len(chunk), time.monotonic() - started)
        if pending is not None:
            self._record(pending)
        return self._confirmation(package, last, checksum)

    def _confirmation(self, package: Package, last: Head, checksum: bool) -> str:
        stated = last.headers.get(ACK_HEADER)
        if stated is not None:
            if stated.strip().lower() != package.sha256:
                raise Refused(
                    f"the collector stored the package with sha256 {stated[:16]}…, "
                    f"not {package.sha256[:16]}…"
                )
            return "the collector confirmed the package's sha256"
        if checksum:
            return "full length received, every chunk's sha256 accepted"
        return uploads.UNVERIFIED

    def _record(self, future: Future[bool]) -> None:
        if not future.result(30):
            raise Abandoned("the segment was deleted or changed while it was being sent")

    def _chunk_size(self) -> int:
        if self.limit_bytes_s:  # about a second's worth, so the pace stays even
            return max(16 * 1024, min(self.chunk_bytes, self.limit_bytes_s))
        return self.chunk_bytes

    def _pace(self, sent: int, took: float) -> None:
        if self.limit_bytes_s:
            owed = sent / self.limit_bytes_s - took
            if owed > 0:
                self.stop.wait(owed)
