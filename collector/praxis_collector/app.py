"""The collector's ASGI application: configuration, shared state, health and the expiry sweep."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from praxis_collector.accesslog import AccessLog, log_event, setup_logging
from praxis_collector.errors import StorageUnavailable
from praxis_collector.storage import StorageSettings, Store, open_store
from praxis_collector.uploads import UploadIndex

GiB = 1 << 30


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    storage: StorageSettings = field(default_factory=StorageSettings)
    max_upload_bytes: int = 4 * GiB
    device_quota_bytes: int = 50 * GiB
    upload_expiry_s: float = 24 * 3600
    body_timeout_s: float = 60.0
    retry_after_s: int = 5
    max_connections: int = 1000  # beyond it new requests get 503, not a slower server

    @property
    def sweep_interval_s(self) -> float:
        return max(0.2, min(300.0, self.upload_expiry_s / 4))


class Collector:
    """What every request handler shares in one process."""

    def __init__(self, config: ServerConfig, store: Store | None = None) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_store(config.data_dir, config.storage)
        self.index = UploadIndex(config.data_dir)
        # One writer per upload, and one completion per segment at a time, in this process.
        # A lock lives as long as a request holds it, so idle ones cost nothing.
        self._locks: weakref.WeakValueDictionary[tuple[str, ...], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # The SHA-256 of each upload's bytes so far, kept as they arrive so completion need
        # not read the package again; after a restart it is read from the partial file.
        self.running: dict[str, tuple[int, Any]] = {}
        self._stops: weakref.WeakValueDictionary[str, asyncio.Event] = weakref.WeakValueDictionary()

    def stop_event(self, upload_id: str) -> asyncio.Event:
        """Set to ask the request writing this upload to stop (see tus._patch)."""
        event = self._stops.get(upload_id)
        if event is None:
            event = self._stops[upload_id] = asyncio.Event()
        return event

    def lock(self, *key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def expires_at(self, touched_at: float) -> float:
        return touched_at + self.config.upload_expiry_s

    def busy_uploads(self) -> frozenset[str]:
        """Uploads a request is writing now (call on the event loop's thread)."""
        locks = list(self._locks.items())
        return frozenset(key[1] for key, lock in locks if key[0] == "upload" and lock.locked())

    def sweep(self, busy: frozenset[str] = frozenset()) -> int:
        """Drop partial uploads that expired, except busy ones; how many."""
        ids = self.index.expire(time.time() - self.config.upload_expiry_s, keep=busy)
        for upload_id in ids:
            self.index.partial_path(upload_id).unlink(missing_ok=True)
            self.running.pop(upload_id, None)
        if ids:
            log_event("expired", uploads=len(ids))
        return len(ids)


async def _sweep_forever(collector: Collector) -> None:
    while True:
        await asyncio.sleep(collector.config.sweep_interval_s)
        try:
            await run_in_threadpool(collector.sweep, collector.busy_uploads())
        except Exception as exc:  # a failed sweep is retried next round, never fatal
            log_event("sweep_failed", error=type(exc).__name__)


async def health(request: Request) -> Response:
    collector: Collector = request.app.state.collector
    try:
        await run_in_threadpool(collector.store.check)
    except StorageUnavailable as exc:
        return JSONResponse({"status": "unavailable", "message": exc.message}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(config: ServerConfig, store: Store | None = None) -> Starlette:
    from praxis_collector import tus

    setup_logging()
    collector = Collector(config, store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(collector.index.reconcile)
        await run_in_threadpool(collector.sweep)
        task = asyncio.create_task(_sweep_forever(collector))
        log_event("started", storage=collector.store.describe())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            collector.index.close()
            log_event("stopped")

    routes = [
        Route("/healthz", health, methods=["GET"]),
        Route("/files/", tus.endpoint, methods=["OPTIONS", "POST"]),
        Route("/files/{upload_id}", tus.upload, methods=["HEAD", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(AccessLog)], lifespan=lifespan)
    app.state.collector = collector
    return app
