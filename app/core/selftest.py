"""`praxis selftest`: can this machine record? Each check says what it found."""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from app.core.errors import PraxisError

Check = tuple[str, bool, str]


def _run(name: str, fn: Callable[[], str]) -> Check:
    try:
        return name, True, fn()
    except PraxisError as exc:
        return name, False, exc.message
    except Exception as exc:  # a self-test reports, it does not crash
        return name, False, f"{type(exc).__name__}: {exc}"


def _display() -> str:
    from app.platform import get_platform

    platform = get_platform()
    try:
        platform.check_capture_supported()
        window = platform.active_window()
    finally:
        platform.close()
    return f"{platform.name}; window in front: {window.app if window else 'none'}"


def _screenshot() -> str:
    from app.core.capture.screen import ScreenGrabber

    grabber = ScreenGrabber()
    try:
        pixels = grabber.grab()
        assert pixels is not None
        return f"{pixels.shape[1]}x{pixels.shape[0]} across {len(grabber.monitors)} monitor(s)"
    finally:
        grabber.close()


def _input() -> str:
    from app.core.capture.input import InputCapture

    capture = InputCapture()
    capture.start()
    capture.stop()
    return "keyboard and mouse listeners start and stop"


def _keyring() -> str:
    import keyring

    from app.core.buffer.crypto import KEYRING_SERVICE, _backend_name, _check_backend

    _check_backend()
    name, value = f"selftest-{secrets.token_hex(4)}", secrets.token_hex(16)
    keyring.set_password(KEYRING_SERVICE, name, value)
    try:
        if keyring.get_password(KEYRING_SERVICE, name) != value:
            raise PraxisError("the keyring returned a different value", title="Keyring")
    finally:
        keyring.delete_password(KEYRING_SERVICE, name)
    return _backend_name()


def _storage(data_dir: Path) -> Callable[[], str]:
    def check() -> str:
        from app.core.paths import ensure_private_dir

        ensure_private_dir(data_dir)
        with tempfile.TemporaryDirectory() as tmp:
            conn = sqlite3.connect(Path(tmp) / "t.db")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            conn.close()
        if mode != "wal":
            raise PraxisError(f"SQLite refused WAL mode ({mode})", title="SQLite")
        return f"{data_dir} writable; SQLite {sqlite3.sqlite_version} with WAL"

    return check


def _crypto() -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from app.core.buffer.crypto import Sealer

    sealer = Sealer(AESGCM.generate_key(bit_length=256))
    if sealer.open(sealer.seal(b"probe", b"aad"), b"aad") != b"probe":
        raise PraxisError("AES-GCM round trip failed", title="Encryption")
    return "AES-256-GCM round trip"


def _consent() -> str:
    from app.core.consent import load_consent_text

    return f"consent text version {load_consent_text().version}"


def _policy() -> str:
    from app.core.policy import default_policy_source
    from app.core.settings import load_settings

    source = default_policy_source()
    document = source.read()
    if document is None:
        return "no managed policy on this machine"
    settings = load_settings(None, source)
    keys = ", ".join(sorted(settings.locked)) or "no keys"
    return f"{document.origin} sets {keys}"


def run_selftest(data_dir: Path) -> Iterator[Check]:
    yield _run("policy", _policy)
    yield _run("display", _display)
    yield _run("screenshot", _screenshot)
    yield _run("input", _input)
    yield _run("keyring", _keyring)
    yield _run("storage", _storage(data_dir))
    yield _run("encryption", _crypto)
    yield _run("consent text", _consent)
