"""Structured JSON logs: one line per request and per stored or erased package.

Never logged: request or response bodies, the Authorization header, Upload-Metadata, query
strings. A request line names the token by its id (not a secret) and the device id.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("praxis_collector")


def setup_logging() -> None:
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def log_event(event: str, **fields: Any) -> None:
    line = {"ts": round(time.time(), 3), "event": event, **fields}
    logger.info(json.dumps(line, separators=(",", ":"), default=str))


MAX_HEADER_BYTES = 16 * 1024


class AccessLog:
    """ASGI middleware counting what went in and out of each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started = time.perf_counter()
        counts = {"in": 0, "out": 0, "status": 0}
        app = self.app
        if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            scope["state"]["error"] = "headers_too_large"
            app = _headers_too_large

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counts["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counts["status"] = message["status"]
            elif message["type"] == "http.response.body":
                counts["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await app(scope, counting_receive, counting_send)
        finally:
            state = scope.get("state", {})
            client = scope.get("client")
            log_event(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=counts["status"] or 500,
                bytes_in=counts["in"],
                bytes_out=counts["out"],
                ms=round((time.perf_counter() - started) * 1000, 1),
                client=client[0] if client else None,
                token_id=state.get("token_id"),
                device_id=state.get("device_id"),
                error=state.get("error"),
            )


async def _headers_too_large(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps(
        {"error": "headers_too_large", "message": f"request headers over {MAX_HEADER_BYTES} bytes"}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 431, "headers": headers})
    await send({"type": "http.response.body", "body": body})
