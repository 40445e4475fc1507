"""A fault-injecting HTTP proxy on 127.0.0.1 for upload tests.

It sits between the uploader and a real tus server, reads each HTTP/1.1 request, and either
forwards it or does what the next planned fault says: reset the connection in the middle of
the body, forward the request but lose the answer, hold the answer back (a stall), or answer
itself with a status (500, 503 or 429 with Retry-After, 460, 410). The server behind it can be
swapped (`upstream_port`) to model a server restart.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    kind: str  # reset_body | lose_answer | stall | status
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    fraction: float = 0.5  # reset_body: share of the body forwarded before the reset
    seconds: float = 0.0  # stall: how long the answer is held back

    @property
    def name(self) -> str:
        return f"{self.kind}{self.status or ''}"


RESET_BODY = Fault("reset_body")
LOSE_ANSWER = Fault("lose_answer")


def status(code: int, retry_after: float | None = None) -> Fault:
    headers = (("Retry-After", str(int(retry_after))),) if retry_after is not None else ()
    return Fault("status", status=code, headers=headers)


def stall(seconds: float) -> Fault:
    return Fault("stall", seconds=seconds)


Plan = Callable[[str, str], Fault | None]  # (method, path) → the fault for this request


@dataclass
class FaultProxy:
    upstream_port: int
    plan: Plan = field(default=lambda method, path: None)
    port: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    last_fault_at: float = 0.0  # time.monotonic() of the latest injected fault
    tls: ssl.SSLContext | None = None  # serve https (as "localhost") with this context

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="faultproxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.port}/files/"
        return f"http://127.0.0.1:{self.port}/files/"

    def queue(self, *faults: Fault, method: str | None = None) -> None:
        """Apply these faults, in order, to the next requests (of `method`, if given)."""
        pending = list(faults)

        def plan(m: str, path: str) -> Fault | None:
            if pending and (method is None or m == method):
                return pending.pop(0)
            return None

        self.plan = plan

    def random_faults(self, faults: list[Fault], rate: float, rng: random.Random) -> None:
        self.plan = lambda m, path: rng.choice(faults) if rng.random() < rate else None

    def close(self) -> None:
        self._closing.set()
        self._thread.join(5)
        self._sock.close()

    # -- serving -------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _handshake(self, client: socket.socket) -> socket.socket | None:
        if self.tls is None:
            return client
        try:
            client.settimeout(10)
            return self.tls.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()  # a client that does not trust our certificate
            return None

    def _serve(self, plain: socket.socket) -> None:
        client = self._handshake(plain)
        if client is None:
            return
        client.settimeout(30)
        reader = client.makefile("rb")
        try:
            while not self._closing.is_set():
                head = _read_head(reader)
                if head is None:
                    return
                method, path, raw_head, length = head
                with self._lock:
                    self.requests[method] += 1
                    fault = self.plan(method, path)
                    if fault is not None:
                        self.injected[fault.name] += 1
                        self.last_fault_at = time.monotonic()
                if not self._one(client, reader, method, raw_head, length, fault):
                    return
        except (OSError, http.client.HTTPException):
            return
        finally:
            with contextlib.suppress(OSError):
                reader.close()
                client.close()

    def _one(
        self,
        client: socket.socket,
        reader,  # type: ignore[no-untyped-def]
        method: str,
        raw_head: bytes,
        length: int,
        fault: Fault | None,
    ) -> bool:
        """One request; False when the client connection ends here."""
        if fault is not None and fault.kind == "status":
            reader.read(length)
            extra = "".join(f"{k}: {v}\r\n" for k, v in fault.headers)
            client.sendall(
                f"HTTP/1.1 {fault.status} Injected\r\nTus-Resumable: 1.0.0\r\n{extra}"
                "Content-Length: 0\r\n\r\n".encode()
            )
            return True
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        try:
            upstream.sendall(raw_head)
            if fault is not None and fault.kind == "reset_body":
                part = reader.read(int(length * fault.fraction))
                upstream.sendall(part)
                _reset(upstream)
                _reset(client)
                return False
            body = reader.read(length) if length else b""
            upstream.sendall(body)
            response = http.client.HTTPResponse(upstream, method=method)
            response.begin()
            payload = response.read()
            if fault is not None and fault.kind == "lose_answer":
                _reset(client)
                return False
            if fault is not None and fault.kind == "stall":
                self._closing.wait(fault.seconds)
                _reset(client)
                return False
            headers = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in ("transfer-encoding", "content-length", "connection")
            ]
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers)
            client.sendall(
                f"HTTP/1.1 {response.status} {response.reason}\r\n{lines}"
                f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + (payload if method != "HEAD" else b"")
            )
            return True
        finally:
            with contextlib.suppress(OSError):
                upstream.close()


def _read_head(reader) -> tuple[str, str, bytes, int] | None:  # type: ignore[no-untyped-def]
    lines = []
    while True:
        line = reader.readline(65537)
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    request_line = lines[0].decode("latin-1").split()
    if len(request_line) < 2:
        return None
    method, path = request_line[0], request_line[1]
    length = 0
    kept = [lines[0]]
    for line in lines[1:-1]:
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "connection":
            continue  # one upstream connection per request
        kept.append(line)
    kept.append(b"Connection: close\r\n\r\n")
    return method, path, b"".join(kept), length


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a dropped network or a crashed peer does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
