"""The control socket cannot be impersonated: its folder is private to the user and checked,
and the client refuses a server run by anyone else."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from app.cli import main
from app.core import control
from app.core.errors import PraxisError

OTHER_UID = 65534  # nobody

needs_root = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0, reason="giving a folder to another user needs root"
)


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory standing in for /tmp, and no XDG_RUNTIME_DIR."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return shared


def long_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / ("d" * 60) / ("e" * 60)
    assert len(str(path / "control.sock")) >= 100
    return path


def test_a_long_data_dir_puts_the_socket_in_a_private_runtime_folder(
    tmp_path: Path, shared_tmp: Path
) -> None:
    data_dir = long_data_dir(tmp_path)
    server = control.ControlServer(data_dir, lambda req: {"echo": req["cmd"]})
    server.start()
    try:
        assert control.send(data_dir, {"cmd": "status"}) == {"echo": "status"}
    finally:
        server.stop()
    folder = server.path.parent
    assert folder.parent == shared_tmp
    assert os.stat(folder).st_uid == os.getuid()
    assert os.stat(folder).st_mode & 0o777 == 0o700


def test_xdg_runtime_dir_is_used_when_it_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert control.socket_path(long_data_dir(tmp_path)).parent == runtime / "praxis"


@needs_root
def test_a_runtime_folder_made_by_another_user_is_refused(
    tmp_path: Path, shared_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The probe: another user creates the folder first and leaves a socket of their own.
    planted = shared_tmp / f"praxis-{os.getuid()}"
    planted.mkdir(mode=0o700)
    fake = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    digest = control.socket_path.__globals__["hashlib"].sha256(
        str(long_data_dir(tmp_path).resolve()).encode()
    )
    fake.bind(str(planted / f"{digest.hexdigest()[:16]}.sock"))
    fake.listen(1)
    os.chown(planted, OTHER_UID, OTHER_UID)
    try:
        assert main(["pause", "--data-dir", str(long_data_dir(tmp_path))]) == 2
    finally:
        fake.close()
    out = capsys.readouterr()
    assert "Paused" not in out.out
    assert "Unsafe control folder" in out.err and f"uid {OTHER_UID}" in out.err


def test_a_runtime_folder_open_to_others_is_refused(tmp_path: Path, shared_tmp: Path) -> None:
    (shared_tmp / f"praxis-{os.getuid()}").mkdir(mode=0o755)
    os.chmod(shared_tmp / f"praxis-{os.getuid()}", 0o755)
    with pytest.raises(PraxisError, match="open to other users"):
        control.socket_path(long_data_dir(tmp_path))


@needs_root
def test_the_client_refuses_a_server_of_another_user(capsys: pytest.CaptureFixture[str]) -> None:
    # pytest's own temporary folders are closed to other users: this one is reachable.
    base = Path(tempfile.mkdtemp(prefix="praxis-peer-"))
    os.chmod(base, 0o711)
    data_dir = base / "data"
    data_dir.mkdir()
    os.chown(data_dir, OTHER_UID, OTHER_UID)
    sock_path = data_dir / "control.sock"
    server = textwrap.dedent(
        f"""
        import os, socket, sys
        os.setgid({OTHER_UID}); os.setuid({OTHER_UID})
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind({str(sock_path)!r}); s.listen(1)
        print("ready", flush=True)
        conn, _ = s.accept()
        conn.sendall(b'{{"ok": true, "result": {{"reason": "fake"}}}}\\n')
        conn.recv(100)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", server], stdout=subprocess.PIPE, text=True, cwd="/"
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert main(["pause", "--data-dir", str(data_dir)]) == 2
    finally:
        child.kill()
        child.wait(5)
        shutil.rmtree(base)
    out = capsys.readouterr()
    assert "Paused" not in out.out
    assert "answered by another user" in out.err and f"uid {OTHER_UID}" in out.err


def test_macos_peer_credentials_are_read_from_an_xucred() -> None:
    raw = struct.pack("=IIh", 0, 501, 1) + b"\0" * 70
    assert control.xucred_uid(raw) == 501
    with pytest.raises(PraxisError):
        control.xucred_uid(struct.pack("=II", 7, 501))
