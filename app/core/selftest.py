"""`praxis selftest`: can this machine record? Each check says what it found.

It runs without a display too (an IT script over SSH, a CI runner): the checks that need one
fail with the reason, the others still run, and the exit status says whether all passed.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.core.errors import PraxisError

Check = tuple[str, bool, str]
COLLECTOR_TIMEOUT_S = 5.0


def _run(name: str, fn: Callable[[], str]) -> Check:
    try:
        return name, True, fn()
    except PraxisError as exc:
        return name, False, exc.message
    except Exception as exc:  # a self-test reports, it does not crash
        return name, False, f"{type(exc).__name__}: {exc}"


def _display() -> str:
    from app.platform import get_platform

    if sys.platform.startswith("linux"):
        from app.platform.linux import wayland_reason

        reason = wayland_reason(os.environ)
        if reason:  # the explanation, not a connection error from a library
            raise PraxisError(reason, title="Display")

    platform = get_platform()
    try:
        platform.check_capture_supported()
        window = platform.active_window()
    finally:
        platform.close()
    where = f" on {os.environ['DISPLAY']}" if os.environ.get("DISPLAY") else ""
    return f"{platform.name}{where}; window in front: {window.app if window else 'none'}"


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
    from app.core.buffer.crypto import (
        _backend_name,
        _check_backend,
        delete_secret,
        get_secret,
        set_secret,
    )

    _check_backend()
    name, value = f"selftest-{secrets.token_hex(4)}", secrets.token_hex(16)
    set_secret(name, value)  # each call gives up after a while instead of hanging
    try:
        if get_secret(name) != value:
            raise PraxisError("the keyring returned a different value", title="Keyring")
    finally:
        delete_secret(name)
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


def _resources() -> str:
    from app.core.consent import load_consent_text
    from app.core.resources import resources_dir

    folder = resources_dir()
    icons = sorted((folder / "icons").glob("*.svg"))
    if not icons:
        raise PraxisError(f"no tray icons in {folder / 'icons'}", title="Resources")
    return f"consent text version {load_consent_text().version}, {len(icons)} icons in {folder}"


def _consent(data_dir: Path) -> Callable[[], str]:
    def check() -> str:
        from app.core.consent import load_consent_text

        return f"consent text version {load_consent_text(_settings(data_dir)).version} in force"

    return check


def _ocr_models() -> str:
    """Load the shipped PP-OCR models and run them once: a frame can only be stored when the
    reader works, so a missing model would mean no screenshots at all."""
    import numpy as np

    from app.core.redact.ocr_pool import OcrProcess

    engine = OcrProcess()  # where the recorder runs it: in a worker process
    try:
        engine.read(np.full((48, 160, 3), 255, dtype=np.uint8))
    finally:
        engine.close()
    models = sorted(p.name for p in _ocr_model_dir().glob("*.onnx"))
    if not models:
        raise PraxisError("the OCR engine loaded no .onnx model files", title="OCR models")
    return f"{len(models)} models load and run ({', '.join(models)})"


def _ocr_model_dir() -> Path:
    # Found without importing the package: importing it loads ONNX Runtime, which must only
    # load where its telemetry is switched off first (the OCR worker).
    import importlib.util

    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise PraxisError("the OCR package is not installed", title="OCR models")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "models"


def _settings(data_dir: Path) -> Any:
    from app.core.settings import load_effective_settings

    return load_effective_settings(data_dir)


def _buffer(data_dir: Path) -> Callable[[], str]:
    def check() -> str:
        db = data_dir / "buffer.db"
        if not db.exists():
            return f"no buffer yet in {data_dir} (nothing recorded)"
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if verdict != "ok":
            raise PraxisError(f"{db} is damaged: {verdict}", title="Buffer")
        return f"{db} intact, {db.stat().st_size / 1e6:.1f} MB"

    return check


def _collector(data_dir: Path) -> Callable[[], str]:
    def check() -> str:
        settings = _settings(data_dir)
        url = str(getattr(settings, "collector_url", "") or "")
        if not url:
            return "no collector configured; recordings stay on this machine"
        return probe_collector(url, getattr(settings, "ca_bundle", "") or None)

    return check


def probe_collector(url: str, ca_bundle: str | None = None) -> str:
    """A tus server answers OPTIONS with the protocol versions it speaks; nothing is uploaded
    and no token is sent."""
    import ssl

    request = urllib.request.Request(url, method="OPTIONS")
    try:
        https = url.startswith("https")
        context = ssl.create_default_context(cafile=ca_bundle) if https else None
        with urllib.request.urlopen(request, timeout=COLLECTOR_TIMEOUT_S, context=context) as r:
            versions = r.headers.get("Tus-Version")
            status = r.status
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            # The Praxis collector answers OPTIONS only with a device token, which this probe
            # does not send: the server is there; whether this device may upload is the
            # enrollment's question.
            return (
                f"{url} reachable (HTTP {exc.code} without a device token; "
                "`praxis enroll --status` checks this device's enrollment)"
            )
        raise PraxisError(
            f"{url} answered HTTP {exc.code}; check the collector URL in policy",
            title="Collector",
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PraxisError(
            f"{url} cannot be reached ({reason}); check the network, proxy and CA bundle",
            title="Collector",
        ) from exc
    if not versions:
        raise PraxisError(
            f"{url} answered HTTP {status} but is not a tus upload endpoint (no Tus-Version)",
            title="Collector",
        )
    return f"{url} reachable (tus {versions})"


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
    display = _run("display", _display)
    yield display
    if display[1]:
        yield _run("screenshot", _screenshot)
        yield _run("input", _input)
    else:  # their own errors would only restate the display's, less clearly
        yield "screenshot", False, "not tried: needs a usable display (see above)"
        yield "input", False, "not tried: needs a usable display (see above)"
    yield _run("keyring", _keyring)
    yield _run("storage", _storage(data_dir))
    yield _run("encryption", _crypto)
    yield _run("resources", _resources)
    yield _run("consent text", _consent(data_dir))
    yield _run("OCR models", _ocr_models)
    yield _run("buffer", _buffer(data_dir))
    yield _run("collector", _collector(data_dir))


def describe_build() -> str:
    """The first line of the report: which Praxis, installed how."""
    from app import __version__

    if getattr(sys, "frozen", False):
        how = f"bundle in {Path(sys.executable).resolve().parent}"
    else:
        how = f"Python {sys.version.split()[0]} at {sys.executable}"
    return f"Praxis {__version__} ({how})"
