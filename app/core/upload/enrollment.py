"""`praxis enroll`: this device's collector address in the user's settings, its token in the OS
keyring (never a file), and a check with an authenticated OPTIONS that both work."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import PraxisError
from app.core.settings import Settings, save_user_settings
from app.core.upload.endpoint import check_collector_url, files_endpoint, origin
from app.core.upload.target import (
    ENROLLED_ORIGIN,
    ENROLLED_TOKEN,
    TokenForAnotherCollector,
    configured_target,
    delete_token,
    read_token,
    store_token,
)
from app.core.upload.tus import AuthFailed, ServerInfo, TusClient, TusError


class EnrollError(PraxisError):
    title = "Enrollment failed"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    info: ServerInfo | None = None


def check(collector_url: str, token: str | None, ca_bundle: str = "") -> CheckResult:
    """Ask the collector, with the token, what it supports: proves address, TLS and token."""
    client = TusClient(files_endpoint(collector_url), token, ca_bundle=ca_bundle or None)
    try:
        info = client.options()
    except AuthFailed:
        return CheckResult(False, "the collector refused this token (revoked, wrong or missing)")
    except TusError as exc:
        return CheckResult(False, exc.message)
    finally:
        client.close()
    if not info.version.startswith("1.0") and "1.0.0" not in info.version:
        return CheckResult(False, f"the server does not speak tus 1.0 (it says {info.version!r})")
    if "creation" not in info.extensions:
        return CheckResult(False, "the server does not offer tus creation; uploads cannot start")
    checks = "sha256 checksums" if info.sha256_checksums else "no sha256 checksums"
    return CheckResult(True, f"tus {info.version}, {checks}", info)


def enroll(settings_file: Path, settings: Settings, server: str, token: str) -> CheckResult:
    """Check first, then keep: a failed check changes nothing."""
    check_collector_url(server)
    if "collector_url" in settings.locked and settings.collector_url != server:
        raise EnrollError(
            f"IT's policy sets the collector to {settings.collector_url}; enroll with that address"
        )
    token = token.strip()
    if not token:
        raise EnrollError("the token is empty; IT gives it with the collector's address")
    result = check(server, token, settings.ca_bundle)
    if not result.ok:
        raise EnrollError(f"{server}: {result.message}. Nothing was changed.")
    store_token(ENROLLED_TOKEN, token)
    store_token(ENROLLED_ORIGIN, origin(files_endpoint(server)))
    if "collector_url" not in settings.locked:
        save_user_settings(settings_file, dataclasses.replace(settings, collector_url=server))
    return result


def leave(settings_file: Path, settings: Settings) -> bool:
    """Forget the token and (unless policy sets it) the address; True if there was a token."""
    had_token = delete_token(ENROLLED_TOKEN)
    delete_token(ENROLLED_ORIGIN)
    if "collector_url" not in settings.locked and settings.collector_url:
        save_user_settings(settings_file, dataclasses.replace(settings, collector_url=""))
    return had_token


def status(settings: Settings) -> dict[str, object]:
    token = read_token(ENROLLED_TOKEN)
    result = None
    if settings.collector_url:
        try:  # the token is only sent to the collector it was given for
            configured_target(settings.collector_url, settings.ca_bundle)
        except TokenForAnotherCollector as exc:
            result = CheckResult(False, exc.message)
        else:
            result = check(settings.collector_url, token, settings.ca_bundle)
    return {
        "collector_url": settings.collector_url or None,
        "set_by_policy": "collector_url" in settings.locked,
        "token_in_keyring": token is not None,
        "check_ok": None if result is None else result.ok,
        "check": None if result is None else result.message,
    }
