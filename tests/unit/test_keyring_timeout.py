"""A keyring that never answers (a Secret Service waiting on a password prompt no one can see)
costs a bounded wait and a line of advice, not a hung command."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from app.core import selftest
from app.core.buffer import crypto
from app.core.errors import KeyringUnavailable


class PromptingKeyring(KeyringBackend):
    """Blocks every call the way gnome-keyring does while it waits for a new password."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


@pytest.fixture
def prompting(monkeypatch: pytest.MonkeyPatch) -> Iterator[PromptingKeyring]:
    backend = PromptingKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    monkeypatch.setattr(crypto, "KEYRING_TIMEOUT_S", 0.5)
    yield backend
    backend.release.set()
    keyring.set_keyring(previous)


def test_a_key_fetch_gives_up_with_advice(prompting: PromptingKeyring) -> None:
    started = time.monotonic()
    with pytest.raises(KeyringUnavailable, match="did not answer within .* Unlock it"):
        crypto.load_or_create_key("dev_test", create=True)
    assert time.monotonic() - started < 5


def test_selftest_reports_the_keyring_line_instead_of_hanging(
    prompting: PromptingKeyring,
) -> None:
    started = time.monotonic()
    _name, ok, detail = selftest._run("keyring", selftest._keyring)  # the line that hung
    assert time.monotonic() - started < 5
    assert not ok and "did not answer" in detail and "gnome-keyring-daemon" in detail


class NoPromptKeyring(PromptingKeyring):
    """gnome-keyring on a session with no desktop: the password prompt is dismissed."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.InitError("Failed to create the collection: Prompt dismissed..")


def test_a_dismissed_keyring_prompt_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = NoPromptKeyring()
    backend.release.set()  # reads answer at once: nothing is stored
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        with pytest.raises(KeyringUnavailable, match="prompt that cannot be shown here") as err:
            crypto.load_or_create_key("dev_test", create=True)
    finally:
        keyring.set_keyring(previous)
    assert "gnome-keyring-daemon --unlock" in err.value.message
