"""Running the collector: one uvicorn server on a socket bound before it starts, so port 0
works and the bound port can be announced in a ready file."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
from pathlib import Path

import uvicorn

from praxis_collector.accesslog import MAX_HEADER_BYTES, log_event
from praxis_collector.app import ServerConfig, create_app
from praxis_collector.errors import CollectorError
from praxis_collector.storage import open_store


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CollectorError(f"cannot listen on {host} port {port}: {reason}") from None
    return sock


def _url(sock: socket.socket, tls: bool) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}/files/", port


def _write_ready(path: Path, sock: socket.socket, tls: bool) -> None:
    url, port = _url(sock, tls)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps({"url": url, "port": port, "pid": os.getpid()}) + "\n")
    os.replace(temp, path)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, sock: socket.socket, ready: Path | None) -> None:
        super().__init__(config)
        self._sock = sock
        self._ready = ready
        self._tls = config.ssl_certfile is not None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        log_event("listening", url=_url(self._sock, self._tls)[0])
        if self._ready is not None:
            _write_ready(self._ready, self._sock, self._tls)


def _check_tls(cert: Path | None, key: Path | None) -> None:
    if (cert is None) != (key is None):
        raise CollectorError("TLS needs both --tls-cert and --tls-key")
    if cert is None or key is None:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CollectorError(
            f"cannot use the certificate {cert} with key {key}: {reason}"
        ) from None


def serve(
    config: ServerConfig,
    host: str,
    port: int,
    ready_file: Path | None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> None:
    _check_tls(tls_cert, tls_key)
    store = open_store(config.data_dir, config.storage)
    store.check()
    if ready_file is not None:
        ready_file.unlink(missing_ok=True)
    sock = bind(host, port)
    app = create_app(config, store)
    server = _Server(
        uvicorn.Config(
            app,
            http="h11",
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            lifespan="on",
            access_log=False,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=10,
            limit_concurrency=config.max_connections,
            ssl_certfile=None if tls_cert is None else str(tls_cert),
            ssl_keyfile=None if tls_key is None else str(tls_key),
        ),
        sock,
        ready_file,
    )
    # uvicorn shuts down gracefully on these, then raises the signal again for the handler that
    # was there before: make that one a no-op so a requested stop exits with status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
