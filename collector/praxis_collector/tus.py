"""tus 1.0.0 endpoints with creation, checksum, termination and expiration (docs/UPLOAD.md)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from praxis_collector import catalog, tokens
from praxis_collector.accesslog import log_event
from praxis_collector.app import Collector
from praxis_collector.errors import CollectorError, StorageUnavailable
from praxis_collector.metadata import MetadataError, UploadMetadata, encode, parse
from praxis_collector.uploads import COMPLETE, GONE, PARTIAL, Upload

FIRST = asyncio.FIRST_COMPLETED
TAKEOVER_WAIT_S = 5.0  # how long a new PATCH waits for a stalled one to let go
TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
CHECKSUMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
CONFIRM_HEADER = "Praxis-Package-Sha256"
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_DIGITS = re.compile(r"[0-9]{1,19}")


class Refusal(Exception):
    """An answer other than success, with its wire error code (docs/UPLOAD.md)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


class _ClientGone(Exception):
    pass


def _answer(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers={"Tus-Resumable": TUS_VERSION, **(headers or {})})


def _refusal_response(request: Request, refusal: Refusal) -> Response:
    request.state.error = refusal.code
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **refusal.headers}
    if refusal.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if refusal.status == 412:
        headers["Tus-Version"] = TUS_VERSION
    body = {"error": refusal.code, "message": refusal.message}
    return JSONResponse(body, status_code=refusal.status, headers=headers)


def _http_date(ts: float) -> str:
    return format_datetime(datetime.fromtimestamp(ts, timezone.utc), usegmt=True)


def _collector(request: Request) -> Collector:
    return request.app.state.collector


async def _authenticate(request: Request) -> tokens.TokenRecord:
    collector = _collector(request)
    try:
        record = await run_in_threadpool(
            tokens.authenticate, collector.store, request.headers.get("authorization")
        )
    except tokens.TokenError as exc:
        raise Refusal(exc.status, exc.code, exc.message) from None
    request.state.token_id = record.id
    request.state.device_id = record.device_id
    return record


def _unavailable(collector: Collector, exc: StorageUnavailable) -> Refusal:
    retry = str(collector.config.retry_after_s)
    return Refusal(503, "storage_unavailable", exc.message, {"Retry-After": retry})


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise Refusal(412, "tus_version", f"this server speaks tus {TUS_VERSION} only")


def _number(request: Request, name: str) -> int:
    value = request.headers.get(name)
    if value is None or not _DIGITS.fullmatch(value):
        raise Refusal(400, "bad_request", f"{name} must be a whole number of bytes")
    return int(value)


async def endpoint(request: Request) -> Response:
    try:
        if request.method == "OPTIONS":
            return await _options(request)
        _check_version(request)
        return await _create(request)
    except Refusal as refusal:
        return _refusal_response(request, refusal)
    except StorageUnavailable as exc:
        return _refusal_response(request, _unavailable(_collector(request), exc))
    except CollectorError as exc:  # a value no check above foresaw: the client's, never a 500
        return _refusal_response(request, Refusal(400, "bad_request", exc.message))


async def upload(request: Request) -> Response:
    try:
        _check_version(request)
        token = await _authenticate(request)
        upload_id = request.path_params["upload_id"]
        handler = {"HEAD": _head, "PATCH": _patch, "DELETE": _delete}[request.method]
        return await handler(request, token, upload_id)
    except Refusal as refusal:
        return _refusal_response(request, refusal)
    except StorageUnavailable as exc:
        return _refusal_response(request, _unavailable(_collector(request), exc))
    except CollectorError as exc:  # a value no check above foresaw: the client's, never a 500
        return _refusal_response(request, Refusal(400, "bad_request", exc.message))


async def _quota(
    collector: Collector, token: tokens.TokenRecord, device_id: str
) -> tuple[int, int]:
    quota = token.quota_bytes or collector.config.device_quota_bytes
    since = time.time() - collector.config.upload_expiry_s
    reserved = collector.index.reserved(device_id, since)

    def used() -> int:
        # Content already stored is counted once, not again for its unfinished duplicates.
        waiting = sum(
            size
            for segment_id, sha256, size in reserved
            if (r := catalog.get_record(collector.store, device_id, segment_id)) is None
            or r.sha256 != sha256
        )
        return catalog.device_usage(collector.store, device_id) + waiting

    return quota, await run_in_threadpool(used)


async def _options(request: Request) -> Response:
    collector = _collector(request)
    token = await _authenticate(request)
    headers = {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
        "Tus-Max-Size": str(collector.config.max_upload_bytes),
    }
    if token.device_id:
        quota, used = await _quota(collector, token, token.device_id)
    else:
        quota, used = token.quota_bytes or collector.config.device_quota_bytes, 0
    headers.update({"Praxis-Quota-Bytes": str(quota), "Praxis-Quota-Used": str(used)})
    return _answer(204, headers)


def _check_device(token: tokens.TokenRecord, device_id: str) -> None:
    if token.device_id is not None and token.device_id != device_id:
        raise Refusal(403, "wrong_device", "this token belongs to another device")


async def _bind_device(collector: Collector, token: tokens.TokenRecord, device_id: str) -> None:
    """Tie a new token to its device; called only once a creation passed every check, so a
    refused request never binds a token to a device it then cannot use."""
    if token.device_id is None:
        token.device_id = device_id
        await run_in_threadpool(tokens.save, collector.store, token)


def _new_upload(token: tokens.TokenRecord, meta: UploadMetadata, length: int, state: str) -> Upload:
    now = time.time()
    offset = length if state == COMPLETE else 0
    return Upload(
        secrets.token_hex(16), token.id, meta.device_id, meta.segment_id, meta.sha256,
        length, offset, meta, now, now, state,
    )  # fmt: skip


async def _create(request: Request) -> Response:
    collector = _collector(request)
    token = await _authenticate(request)
    if request.headers.get("upload-defer-length") is not None:
        raise Refusal(400, "bad_request", "Upload-Defer-Length is not supported")
    length = _number(request, "upload-length")
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        raise Refusal(400, "bad_request", "creation takes no body here; send bytes with PATCH")
    try:
        meta = parse(request.headers.get("upload-metadata"))
    except MetadataError as exc:
        raise Refusal(400, exc.code, exc.message) from None
    request.state.device_id = meta.device_id
    _check_device(token, meta.device_id)
    if length > collector.config.max_upload_bytes:
        limit = collector.config.max_upload_bytes
        raise Refusal(413, "too_large", f"an upload may be at most {limit} bytes")
    stored = await run_in_threadpool(
        catalog.get_record, collector.store, meta.device_id, meta.segment_id
    )
    if stored is not None:
        if stored.sha256 != meta.sha256:
            raise Refusal(
                409, "segment_conflict", "this segment is already stored with different content"
            )
        if stored.size != length:
            raise Refusal(400, "bad_request", "Upload-Length is not the stored package's size")
        await _bind_device(collector, token, meta.device_id)
        done = _new_upload(token, meta, length, COMPLETE)
        await _share(collector, done, stored.upload_id)
        collector.index.add(done)
        _log("already_stored", meta)
        headers = {"Upload-Offset": str(length), CONFIRM_HEADER: stored.sha256}
        return _answer(201, {"Location": f"/files/{done.id}", **headers})
    quota, used = await _quota(collector, token, meta.device_id)
    since = time.time() - collector.config.upload_expiry_s
    again = collector.index.has_partial(meta.device_id, meta.segment_id, meta.sha256, since)
    if used + (0 if again else length) > quota:
        raise Refusal(
            413,
            "quota_exceeded",
            f"this device's quota of {quota} bytes would be exceeded ({used} bytes in use)",
            {"Praxis-Quota-Bytes": str(quota), "Praxis-Quota-Used": str(used)},
        )
    await _bind_device(collector, token, meta.device_id)
    new = _new_upload(token, meta, length, PARTIAL)
    collector.index.partial_path(new.id).touch()
    collector.index.add(new)
    headers = {
        "Location": f"/files/{new.id}",
        "Upload-Offset": "0",
        "Upload-Expires": _http_date(collector.expires_at(new.touched_at)),
    }
    return _answer(201, headers)


def _log(event: str, meta: UploadMetadata, **extra: Any) -> None:
    log_event(event, device_id=meta.device_id, segment_id=meta.segment_id, **extra)


async def _share(collector: Collector, done: Upload, package: str) -> None:
    """Put a finished upload where every process over the store finds it (see _shared)."""
    record = catalog.UploadRecord(
        done.id, done.token_id, done.device_id, done.segment_id, done.sha256, done.length,
        package, dict(done.metadata.__dict__), done.created_at,
    )  # fmt: skip
    await run_in_threadpool(catalog.put_upload_record, collector.store, record)


def _shared(collector: Collector, device_id: str, upload_id: str) -> Upload | None:
    """A finished upload another process received: complete while the package it confirmed
    is the one stored, gone once that package was erased or stored anew."""
    record = catalog.get_upload_record(collector.store, device_id, upload_id)
    if record is None:
        return None
    stored = catalog.get_record(collector.store, record.device_id, record.segment_id)
    current = stored is not None and (stored.sha256, stored.upload_id) == (
        record.sha256,
        record.package,
    )
    return Upload(
        record.id, record.token_id, record.device_id, record.segment_id, record.sha256,
        record.length, record.length, UploadMetadata(**record.metadata), record.created_at,
        record.created_at, COMPLETE if current else GONE,
    )  # fmt: skip


async def _find(collector: Collector, token: tokens.TokenRecord, upload_id: str) -> Upload:
    """The token's device's upload; expired ones become tombstones here at the latest."""
    valid = _UPLOAD_ID.fullmatch(upload_id) is not None
    found = collector.index.get(upload_id) if valid else None
    if found is None and valid and token.device_id is not None:
        found = await run_in_threadpool(_shared, collector, token.device_id, upload_id)
    if found is None or token.device_id is None or found.device_id != token.device_id:
        raise Refusal(404, "not_found", "there is no such upload for this device")
    if found.state == PARTIAL and collector.expires_at(found.touched_at) < time.time():
        collector.index.set_state(found.id, GONE)
        collector.index.partial_path(found.id).unlink(missing_ok=True)
        found.state = GONE
    if found.state == GONE:
        raise Refusal(410, "gone", "this upload expired or was terminated; start a new one")
    return found


async def _confirmed(collector: Collector, found: Upload) -> str:
    """The stored package's hash for a complete upload, or 410 when it was erased since."""
    record = await run_in_threadpool(
        catalog.get_record, collector.store, found.device_id, found.segment_id
    )
    if record is None or record.sha256 != found.sha256:
        collector.index.set_state(found.id, GONE)
        raise Refusal(410, "gone", "this upload's package was erased; start a new one")
    return record.sha256


async def _head(request: Request, token: tokens.TokenRecord, upload_id: str) -> Response:
    collector = _collector(request)
    found = await _find(collector, token, upload_id)
    headers = {
        "Upload-Offset": str(found.offset),
        "Upload-Length": str(found.length),
        "Upload-Metadata": encode(found.metadata),
        "Cache-Control": "no-store",
    }
    if found.state == COMPLETE:
        headers[CONFIRM_HEADER] = await _confirmed(collector, found)
    else:
        headers["Upload-Expires"] = _http_date(collector.expires_at(found.touched_at))
    return _answer(200, headers)


def _chunk_checksum(request: Request) -> tuple[str, bytes] | None:
    value = request.headers.get("upload-checksum")
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise Refusal(400, "bad_request", f"checksum algorithm {algorithm!r} is not supported")
    try:
        return algorithm, base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise Refusal(400, "bad_request", "Upload-Checksum is not base64") from None


async def _body(request: Request, timeout: float, stop: asyncio.Event) -> AsyncIterator[bytes]:
    """The request body as it arrives; ends with _ClientGone when the client goes quiet for
    `timeout`, disconnects, or a newer request for the same upload asks to take over."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while True:
            receiving = asyncio.ensure_future(request.receive())
            await asyncio.wait({receiving, stopped}, timeout=timeout, return_when=FIRST)
            if not receiving.done():
                receiving.cancel()
                raise _ClientGone
            message = receiving.result()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return
    finally:
        stopped.cancel()


@contextlib.asynccontextmanager
async def _take_over(collector: Collector, upload_id: str) -> AsyncIterator[None]:
    """Hold the upload's lock. An older request still holding it is most likely one whose
    client gave up on a stalled connection and is now resuming or erasing: it is asked to stop
    (keeping what it received) rather than blocking the upload until its body times out."""
    lock = collector.lock("upload", upload_id)
    if lock.locked():
        collector.stop_event(upload_id).set()
    acquiring = asyncio.ensure_future(lock.acquire())
    await asyncio.wait({acquiring}, timeout=TAKEOVER_WAIT_S)
    if not acquiring.done():
        acquiring.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquiring
        if not acquiring.cancelled():  # it got the lock just as it was given up on
            lock.release()
        raise Refusal(409, "upload_busy", "another request is writing this upload")
    try:
        collector.stop_event(upload_id).clear()
        yield
    finally:
        lock.release()


async def _patch(request: Request, token: tokens.TokenRecord, upload_id: str) -> Response:
    collector = _collector(request)
    found = await _find(collector, token, upload_id)
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise Refusal(415, "bad_content_type", "PATCH needs application/offset+octet-stream")
    offset = _number(request, "upload-offset")
    checksum = _chunk_checksum(request)
    async with _take_over(collector, upload_id):
        found = await _find(collector, token, upload_id)  # it may have changed while waiting
        if found.state == COMPLETE or offset != found.offset:
            raise Refusal(
                409, "offset_mismatch", f"the upload is at offset {found.offset}",
                {"Upload-Offset": str(found.offset)},
            )  # fmt: skip
        received = await _write_body(request, collector, found, checksum)
        if found.offset + received < found.length:
            collector.index.set_offset(found.id, found.offset + received)
            expires = _http_date(collector.expires_at(time.time()))
            return _answer(
                204, {"Upload-Offset": str(found.offset + received), "Upload-Expires": expires}
            )
        sha = await _complete(collector, found)
        return _answer(204, {"Upload-Offset": str(found.length), CONFIRM_HEADER: sha})


def _open_at(path: os.PathLike[str], offset: int) -> Any:
    fh = open(path, "rb+")  # noqa: SIM115 - closed by _write_body
    fh.seek(offset)
    fh.truncate()
    return fh


def _take(fh: Any, chunk: bytes, hashes: list[Any]) -> None:
    fh.write(chunk)
    for digest in hashes:  # hashlib lets go of the GIL on chunks this size
        digest.update(chunk)


def _cut(fh: Any, size: int) -> None:
    fh.truncate(size)
    fh.flush()


async def _write_body(
    request: Request, collector: Collector, found: Upload, checksum: tuple[str, bytes] | None
) -> int:
    """Append the request body at the upload's offset; how many bytes were kept. File work
    runs in worker threads, so a disk that stalls under writeback never stalls the other
    uploads' requests on the event loop."""
    path = collector.index.partial_path(found.id)
    room = found.length - found.offset
    digest = CHECKSUMS[checksum[0]]() if checksum else None
    covered, whole = collector.running.get(found.id, (0, None))
    whole = whole.copy() if whole is not None and covered == found.offset else None
    if whole is None and found.offset == 0:
        whole = hashlib.sha256()
    received = 0
    hashes = [h for h in (digest, whole) if h is not None]
    fh = await run_in_threadpool(_open_at, path, found.offset)
    try:
        try:
            stop = collector.stop_event(found.id)
            async for chunk in _body(request, collector.config.body_timeout_s, stop):
                received += len(chunk)
                if received > room:
                    await run_in_threadpool(_cut, fh, found.offset)
                    raise Refusal(413, "too_large", "the body goes past Upload-Length")
                await run_in_threadpool(_take, fh, chunk, hashes)
        except _ClientGone:
            # Without a checksum the bytes that arrived are good as far as anyone can know.
            kept = 0 if digest else received
            await run_in_threadpool(_cut, fh, found.offset + kept)
            if kept:
                collector.index.set_offset(found.id, found.offset + kept)
                if whole is not None:
                    collector.running[found.id] = (found.offset + kept, whole)
            raise Refusal(408, "body_incomplete", "the body broke off") from None
        if checksum and digest and digest.digest() != checksum[1]:
            await run_in_threadpool(_cut, fh, found.offset)
            raise Refusal(460, "checksum_mismatch", "the body does not match Upload-Checksum")
        await run_in_threadpool(fh.flush)
    finally:
        fh.close()  # at most one small write buffer is left to flush here
    if whole is not None:
        collector.running[found.id] = (found.offset + received, whole)
    else:
        collector.running.pop(found.id, None)
    return received


async def _complete(collector: Collector, found: Upload) -> str:
    """Check the whole package and store it; the confirmed SHA-256."""
    path = collector.index.partial_path(found.id)
    meta = found.metadata

    def discard(status: int, code: str, message: str) -> Refusal:
        collector.index.set_state(found.id, GONE)
        path.unlink(missing_ok=True)
        _log("discarded", meta, reason=code)
        return Refusal(status, code, message)

    covered, whole = collector.running.pop(found.id, (0, None))
    known = whole.hexdigest() if whole is not None and covered == found.length else None

    def check() -> dict[str, Any]:
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        if (known or catalog.file_sha256(path)) != meta.sha256:
            raise discard(
                460, "package_checksum_mismatch", "the package's SHA-256 is not the one declared"
            )
        try:
            manifest = catalog.read_manifest(path, check_members=False)
            catalog.check_manifest(manifest, meta, found.length)
        except catalog.PackageInvalid as exc:
            raise discard(400, "package_invalid", exc.message) from None
        return manifest

    manifest = await run_in_threadpool(check)
    async with collector.lock("segment", meta.device_id, meta.segment_id):
        stored = await run_in_threadpool(
            catalog.get_record, collector.store, meta.device_id, meta.segment_id
        )
        if stored is not None and stored.sha256 != meta.sha256:
            raise discard(409, "segment_conflict", "this segment is already stored differently")
        if stored is None:
            record = catalog.StoredRecord(
                meta.segment_id, meta.device_id, meta.sha256, found.length, meta.format_version,
                meta.filename, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                found.id, found.token_id, manifest,
            )  # fmt: skip
            try:
                await run_in_threadpool(catalog.put, collector.store, path, record)
            except StorageUnavailable:
                with open(path, "rb+") as fh:  # back to before this PATCH: resend the chunk
                    fh.truncate(found.offset)
                raise
            _log("stored", meta, sha256=meta.sha256, bytes=found.length)
        await _share(collector, found, found.id if stored is None else stored.upload_id)
    collector.index.set_state(found.id, COMPLETE, offset=found.length)
    path.unlink(missing_ok=True)
    collector.running.pop(found.id, None)
    return meta.sha256


async def _delete(request: Request, token: tokens.TokenRecord, upload_id: str) -> Response:
    collector = _collector(request)
    found = await _find(collector, token, upload_id)
    async with _take_over(collector, upload_id):
        meta = found.metadata
        async with collector.lock("segment", meta.device_id, meta.segment_id):
            erased = await run_in_threadpool(
                catalog.erase_if,
                collector.store,
                meta.device_id,
                meta.segment_id,
                found.sha256,
                found.id,
            )
            # Only uploads of the erased content end here: a newer version of the segment
            # (another sha256, stored or on its way) is not what this DELETE asked to erase.
            ended = collector.index.of_segment(meta.device_id, meta.segment_id) if erased else []
            for other in [found, *(u for u in ended if u.sha256 == found.sha256)]:
                collector.index.set_state(other.id, GONE)
                collector.index.partial_path(other.id).unlink(missing_ok=True)
                collector.running.pop(other.id, None)
    _log("erased" if erased else "terminated", meta)
    return _answer(204)
