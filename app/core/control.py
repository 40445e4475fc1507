"""Local control channel: the running recorder listens on a Unix socket that only its owner
can reach; `praxis pause` and friends talk to it. One JSON request line, one JSON reply line.

Also the per-data-dir instance lock, so two recorders never write one buffer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from app.core.errors import AlreadyRunning, NotRunning, PraxisError

Handler = Callable[[dict[str, Any]], Any]
_MAX_REQUEST = 64 * 1024


def socket_path(data_dir: Path) -> Path:
    """The control socket: inside the (private, owner-checked) data folder when the path fits
    in a Unix socket address, otherwise in a private per-user runtime folder."""
    path = data_dir / "control.sock"
    if len(str(path)) < 100:  # sun_path is ~108 bytes on Linux
        return path
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return runtime_dir() / f"{digest}.sock"


def runtime_dir() -> Path:
    """A folder only this user can reach: `$XDG_RUNTIME_DIR/praxis`, or else
    `<temp>/praxis-<uid>`. Each is created 0700 or, if it exists, checked: a real folder (not a
    link), owned by this user, closed to everyone else. A shared path is never taken on trust:
    another user could have made it first and put a socket of their own in it."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and Path(base).is_absolute() and _private_folder_problem(Path(base)) is None:
        folder = Path(base) / "praxis"
    else:
        folder = Path(tempfile.gettempdir()) / f"praxis-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    problem = _private_folder_problem(folder)
    if problem is not None:
        raise PraxisError(
            f"the control folder {folder} {problem}, so another user could stand in for the "
            f"recorder. Remove it (it holds only a socket) or set XDG_RUNTIME_DIR to your own "
            "private runtime folder, then try again.",
            title="Unsafe control folder",
        )
    return folder


def _private_folder_problem(folder: Path) -> str | None:
    """Why `folder` is not private to this user, or None when it is."""
    try:
        info = os.lstat(folder)
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a plain folder"
    if info.st_uid != os.getuid():
        return f"belongs to another user (uid {info.st_uid})"
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"is open to other users (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


class InstanceLock:
    """An exclusive lock on `<data dir>/recorder.lock`, released when the process dies."""

    NAME = "recorder.lock"

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / self.NAME
        self._fh: BinaryIO | None = None

    def acquire(self) -> None:
        import fcntl

        fh = self.path.open("a+b")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.close()
            raise AlreadyRunning(self._busy_message()) from exc
        self._fh = fh

    def _busy_message(self) -> str:
        return (
            f"another Praxis recorder is already using {self.path.parent}. "
            "Use `praxis status` to talk to it."
        )

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class UploadLock(InstanceLock):
    """Held by whatever uploads from a data folder (the app, or `praxis sync`), so one
    segment is never sent by two processes at once."""

    NAME = "uploader.lock"

    def _busy_message(self) -> str:
        return f"another Praxis process is uploading from {self.path.parent}; try again later"


# macOS and the BSDs: getsockopt(SOL_LOCAL, LOCAL_PEERCRED) gives a `struct xucred`
# (u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]). Python names
# neither constant; their values are fixed in <sys/un.h>.
_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE = 0, 0x001, 76


def _peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end, or None where the system cannot say."""
    if hasattr(socket, "SO_PEERCRED"):
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    if sys.platform == "darwin" or "bsd" in sys.platform:
        return xucred_uid(conn.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE))
    return None


def xucred_uid(raw: bytes) -> int:
    version, uid = struct.unpack_from("=II", raw)
    if version != 0:  # XUCRED_VERSION
        raise PraxisError("the peer credentials of the control socket are unreadable")
    return int(uid)


class ControlServer:
    def __init__(self, data_dir: Path, handler: Handler) -> None:
        self.path = socket_path(data_dir)
        self._handler = handler
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket from a killed recorder; the lock proves it is dead
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        sock.listen(8)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="praxis-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._closing.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(60)
            uid = _peer_uid(conn)
            if uid is not None and uid != os.getuid():
                return  # another user: say nothing
            try:
                request = json.loads(_read_line(conn))
                reply = {"ok": True, "result": self._handler(request)}
            except PraxisError as exc:
                reply = {"ok": False, "error": {"title": exc.title, "message": exc.message}}
            except Exception as exc:  # a bug: the caller still gets an answer
                reply = {"ok": False, "error": {"title": "Internal error", "message": repr(exc)}}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_REQUEST:
            raise PraxisError("control request too large", title="Bad request")
    return data


def send(data_dir: Path, request: dict[str, Any], timeout: float = 60.0) -> Any:
    """Send one request to the running recorder; raises NotRunning if there is none."""
    path = socket_path(data_dir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError as exc:  # no socket, a stale one, or a path that cannot hold one
        sock.close()
        raise NotRunning(f"no recorder is running for {data_dir}") from exc
    with sock:
        uid = _peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise PraxisError(
                f"the control socket {path} is answered by another user (uid {uid}), not by "
                "your recorder; nothing was sent. Remove that socket and start Praxis again.",
                title="Unsafe control socket",
            )
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(_read_line(sock) or b"{}")
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise PraxisError(
            error.get("message", "no answer"), title=error.get("title", "Recorder error")
        )
    return reply["result"]
