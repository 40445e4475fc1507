"""Keyring backends that fail the way real ones do, selected with PYTHON_KEYRING_BACKEND
(with the tests folder on PYTHONPATH): one that is locked and stays locked (a prompt nobody
answers), and one that holds nothing and takes nothing."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordSetError


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the keyring is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the keyring is locked")


class ReadOnlyEmptyKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("this keyring takes no new entries")

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordSetError("this keyring takes no new entries")
