"""`praxis selftest` without a display: a readable report, every other check still run, and a
non-zero exit; the collector probe against a real HTTP server on loopback."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.cli import main
from app.core.errors import PraxisError
from app.core.selftest import probe_collector


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)


def _report(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["selftest", "--json", "--data-dir", str(data_dir)])
    report = json.loads(capsys.readouterr().out)
    return code, {c["check"]: c for c in report["checks"]}


def test_headless_report_fails_on_the_display_and_runs_the_rest(
    data_dir: Path, no_display: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["selftest", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("Praxis ")
    assert "DISPLAY is empty" in out
    assert "not tried: needs a usable display" in out
    assert "Praxis cannot record on this machine until they pass." in out.splitlines()[-1]
    for line in ("resources", "OCR models", "encryption", "storage"):
        assert any(row.startswith("ok") and line in row for row in out.splitlines()), line


def test_wayland_is_explained(
    data_dir: Path,
    no_display: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("DISPLAY", ":0")  # XWayland does not make it an X11 session
    code, checks = _report(data_dir, capsys)
    assert code == 1
    assert "Wayland session" in checks["display"]["detail"]
    assert "X11 session" in checks["display"]["detail"]


def test_no_collector_configured_is_not_a_failure(
    data_dir: Path, no_display: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, checks = _report(data_dir, capsys)
    assert checks["collector"]["ok"]
    assert "no collector configured" in checks["collector"]["detail"]
    assert checks["buffer"]["ok"] and "nothing recorded" in checks["buffer"]["detail"]


def test_a_damaged_buffer_fails_its_check(
    data_dir: Path, no_display: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / "buffer.db")
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 3000,)] * 50)
    conn.commit()
    conn.close()
    raw = bytearray((data_dir / "buffer.db").read_bytes())
    raw[4096 + 10 : 4096 + 200] = b"\xff" * 190  # scribble over the second page
    (data_dir / "buffer.db").write_bytes(bytes(raw))
    _code, checks = _report(data_dir, capsys)
    assert not checks["buffer"]["ok"]
    assert "buffer.db" in checks["buffer"]["detail"]


def test_an_unreadable_policy_fails_its_check(
    data_dir: Path,
    no_display: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("capture_screen = maybe\n")
    monkeypatch.setenv("PRAXIS_POLICY_FILE", str(policy))
    _code, checks = _report(data_dir, capsys)
    assert not checks["policy"]["ok"]
    assert "policy.toml" in checks["policy"]["detail"]


class _Handler(BaseHTTPRequestHandler):
    tus = True
    status = 204

    def do_OPTIONS(self) -> None:  # noqa: N802 - the http.server naming
        self.send_response(self.status)
        if self.tus:
            self.send_header("Tus-Version", "1.0.0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_tus_collector_is_reachable(server: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/files/"
    assert probe_collector(url) == f"{url} reachable (tus 1.0.0)"


def test_a_server_that_is_not_tus_is_named(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Handler, "tus", False)
    with pytest.raises(PraxisError, match="not a tus upload endpoint"):
        probe_collector(f"http://127.0.0.1:{server.server_address[1]}/")


def test_a_collector_that_wants_a_device_token_is_reachable(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Handler, "status", 401)
    url = f"http://127.0.0.1:{server.server_address[1]}/files/"
    detail = probe_collector(url)
    assert detail.startswith(f"{url} reachable (HTTP 401 without a device token")


def test_an_unreachable_collector_says_what_to_check(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(PraxisError, match="cannot be reached"):
        probe_collector(f"http://127.0.0.1:{port}/")
