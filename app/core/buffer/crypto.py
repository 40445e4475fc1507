"""AES-GCM sealing of buffer fields under a per-device key kept in the OS keyring.

Every sealed value carries its own random 96-bit nonce. The associated data binds a
ciphertext to the table, row and column it was written for, so a value copied into
another row or column fails to open instead of being read as something else.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import keyring
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.errors import KeyringUnavailable, StorageError

KEYRING_SERVICE = "Praxis"
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"
T = TypeVar("T")
# Backends that would store the key next to the data or nowhere: refused unless chosen on purpose.
_WEAK_BACKENDS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class TamperedData(StorageError):
    title = "Buffer data failed its integrity check"


def aad_for(table: str, row: str, column: str) -> bytes:
    return f"praxis|{table}|{row}|{column}".encode()


class Sealer:
    """Seals and opens byte strings with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("buffer key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_V1:
            raise TamperedData("a sealed value is truncated or of an unknown format")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], aad)
        except InvalidTag as exc:
            raise TamperedData(
                "a stored value does not match its authentication tag; it was altered or moved"
            ) from exc

    def seal_text(self, text: str | None, aad: bytes) -> bytes | None:
        return None if text is None else self.seal(text.encode("utf-8"), aad)

    def open_text(self, sealed: bytes | None, aad: bytes) -> str | None:
        return None if sealed is None else self.open(sealed, aad).decode("utf-8")


# How long a keyring call may take. A Secret Service that wants a password typed into a prompt
# no one can see (a headless session) would otherwise hold the caller forever.
KEYRING_TIMEOUT_S = 15.0

_NO_KEYRING_HELP = (
    "Praxis keeps its encryption key only in the OS keyring and never stores recordings "
    "unencrypted. On a desktop, unlock or start your keyring (GNOME Keyring, KWallet, Keychain, "
    "Credential Manager). Without a desktop, start a Secret Service for the session, e.g. "
    "`dbus-run-session -- sh -c 'printf PASSWORD | gnome-keyring-daemon --unlock "
    "--components=secrets; praxis record --headless'`. For a test machine only, "
    "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring opts in to a key kept in a "
    "plain file."
)


def _call(fn: Callable[[], T], what: str) -> T:
    """Run one keyring call with a time limit; its thread is left behind if it never returns
    (a keyring call cannot be cancelled), which costs one idle thread, not the program."""
    box: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            box.append((True, fn()))
        except BaseException as exc:  # handed to the caller below
            box.append((False, exc))
        done.set()

    threading.Thread(target=run, name="praxis-keyring", daemon=True).start()
    if not done.wait(KEYRING_TIMEOUT_S):
        raise KeyringUnavailable(
            f"the OS keyring did not answer within {KEYRING_TIMEOUT_S:.0f} s while {what}. It "
            "is probably waiting for a password in a prompt that cannot be shown here. Unlock "
            "it (e.g. `printf PASSWORD | gnome-keyring-daemon --unlock "
            "--components=secrets`) or run Praxis in a desktop session, then try again."
        )
    ok, value = box[0]
    if not ok:
        raise _in_words(value) from value
    return cast(T, value)


_UNLOCK_HINT = (
    "Unlock it (log in again or open your keyring app; without a desktop: `printf PASSWORD | "
    "gnome-keyring-daemon --unlock --components=secrets`) and try again."
)


def _in_words(exc: BaseException) -> BaseException:
    """A keyring library error as a KeyringUnavailable a person can act on."""
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeyringUnavailable(f"the OS keyring is locked. {_UNLOCK_HINT}")
    if isinstance(exc, keyring.errors.InitError):
        # Secret Service with no unlocked collection asks for a password in a prompt; where
        # none can be shown (no desktop), the prompt is dismissed and this is what is left.
        return KeyringUnavailable(
            f"the OS keyring could not open its keyring ({exc}); it needs a password typed "
            f"into a prompt that cannot be shown here. {_UNLOCK_HINT}"
        )
    if isinstance(exc, keyring.errors.KeyringError):
        return KeyringUnavailable(f"the OS keyring refused access: {exc}. {_UNLOCK_HINT}")
    return exc


def _backend_name() -> str:
    try:
        backend = _call(keyring.get_keyring, "finding the keyring")
    except KeyringUnavailable:
        raise
    except Exception as exc:  # a backend named in the environment that cannot be loaded
        chosen = os.environ.get("PYTHON_KEYRING_BACKEND", "")
        raise KeyringUnavailable(
            f"PYTHON_KEYRING_BACKEND={chosen!r} cannot be loaded ({type(exc).__name__}: {exc}). "
            "Unset it to use the OS keyring, or name an installed backend."
        ) from exc
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _check_backend() -> None:
    name = _backend_name()
    chosen_explicitly = bool(os.environ.get("PYTHON_KEYRING_BACKEND"))
    if name.startswith("keyring.backends.fail") or (
        not chosen_explicitly and name.startswith(_WEAK_BACKENDS)
    ):
        # The backend is named only when the person chose it; one picked by the keyring
        # library behind their back would only confuse.
        chosen = f" (PYTHON_KEYRING_BACKEND selects {name})" if chosen_explicitly else ""
        raise KeyringUnavailable(f"no secure OS keyring is available{chosen}. {_NO_KEYRING_HELP}")


def get_secret(username: str) -> str | None:
    """One keyring read under the time limit."""
    return _call(lambda: keyring.get_password(KEYRING_SERVICE, username), "reading a key")


def set_secret(username: str, value: str) -> None:
    _call(lambda: keyring.set_password(KEYRING_SERVICE, username, value), "storing a key")


def delete_secret(username: str) -> None:
    _call(lambda: keyring.delete_password(KEYRING_SERVICE, username), "removing a key")


def load_or_create_key(device_id: str, *, create: bool) -> bytes:
    """Fetch this device's buffer key; create it only when the buffer is new.

    An existing buffer whose key has vanished is not given a fresh key: that would make the
    old data unreadable without saying so. The caller reports it instead.
    """
    _check_backend()
    username = f"buffer-key:{device_id}"
    try:
        stored = get_secret(username)
        if stored is not None:
            key = base64.b64decode(stored)
            if len(key) != 32:
                raise KeyringUnavailable(f"the keyring entry {username!r} is not a valid key")
            return key
        if not create:
            raise KeyringUnavailable(
                f"the encryption key for this buffer ({username!r}) is missing from the keyring, "
                "so the recordings in it cannot be read. Restore the keyring, or delete the data "
                "folder to start afresh."
            )
        key = AESGCM.generate_key(bit_length=256)
        set_secret(username, base64.b64encode(key).decode("ascii"))
        if get_secret(username) is None:
            raise KeyringUnavailable("the keyring accepted the key but did not return it")
        return key
    except keyring.errors.KeyringError as exc:
        raise _in_words(exc) from exc
