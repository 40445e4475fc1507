"""Where uploads go right now and with which token: the configured collector (its token in the
OS keyring, put there by `praxis enroll`), or the collector this app runs on loopback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keyring
import keyring.errors

from app.core.buffer.crypto import KEYRING_SERVICE, _check_backend
from app.core.errors import KeyringUnavailable, PraxisError
from app.core.upload.endpoint import files_endpoint, origin

ENROLLED_TOKEN = "collector-token"
ENROLLED_ORIGIN = "collector-token-origin"  # the collector the token was given for
NO_COLLECTOR = "no collector is configured; uploads wait (`praxis enroll --server URL`)"
LOCAL_COLLECTOR = "uploads go to this computer (no collector configured)"


@dataclass(frozen=True)
class Target:
    files_url: str
    token: str | None
    ca_bundle: str | None = None
    embedded: bool = False

    @property
    def key(self) -> str:
        """Which collector an upload URL belongs to. The one on this computer changes port
        between starts but keeps its uploads, so it is one collector for the bookkeeping."""
        return "this-computer" if self.embedded else origin(self.files_url)

    @property
    def description(self) -> str:
        return LOCAL_COLLECTOR if self.embedded else f"uploads go to {self.files_url}"


class TokenForAnotherCollector(PraxisError):
    title = "Enroll again"


def configured_target(collector_url: str, ca_bundle: str = "") -> Target:
    """The configured collector with the enrolled token; TokenForAnotherCollector when the
    token was given for another collector (the address changed since), so it is not sent."""
    files_url = files_endpoint(collector_url)
    token = read_token(ENROLLED_TOKEN)
    enrolled_at = read_token(ENROLLED_ORIGIN)
    if token is not None and enrolled_at is not None and enrolled_at != origin(files_url):
        raise TokenForAnotherCollector(
            f"the device token was given for {enrolled_at}, not {origin(files_url)}; "
            "enroll again (`praxis enroll --server URL`)"
        )
    return Target(files_url, token, ca_bundle or None)


# -- the token in the OS keyring -----------------------------------------------------------
def _keyring_call(what: str, call: Callable[[], Any]) -> Any:
    _check_backend()
    try:
        return call()
    except keyring.errors.KeyringLocked as exc:
        raise KeyringUnavailable(
            f"the OS keyring is locked, so the device token cannot be {what}. Unlock it and retry."
        ) from exc
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring refused access: {exc}") from exc


def read_token(name: str) -> str | None:
    value = _keyring_call("read", lambda: keyring.get_password(KEYRING_SERVICE, name))
    return None if value is None else str(value)


def store_token(name: str, token: str) -> None:
    _keyring_call("stored", lambda: keyring.set_password(KEYRING_SERVICE, name, token))
    if read_token(name) != token:
        raise KeyringUnavailable("the keyring accepted the device token but did not return it")


def delete_token(name: str) -> bool:
    def delete() -> bool:
        try:
            keyring.delete_password(KEYRING_SERVICE, name)
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    return bool(_keyring_call("removed", delete))
