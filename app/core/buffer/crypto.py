"""AES-GCM sealing of buffer fields under a per-device key kept in the OS keyring.

Every sealed value carries its own random 96-bit nonce. The associated data binds a
ciphertext to the table, row and column it was written for, so a value copied into
another row or column fails to open instead of being read as something else.
"""

from __future__ import annotations

import base64
import os

import keyring
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.errors import KeyringUnavailable, StorageError

KEYRING_SERVICE = "Praxis"
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"
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


def _backend_name() -> str:
    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _check_backend() -> None:
    name = _backend_name()
    chosen_explicitly = bool(os.environ.get("PYTHON_KEYRING_BACKEND"))
    if name.startswith("keyring.backends.fail") or (
        not chosen_explicitly and name.startswith(_WEAK_BACKENDS)
    ):
        raise KeyringUnavailable(
            f"no secure OS keyring is available (backend: {name}). Praxis keeps its encryption "
            "key only in the OS keyring and never stores recordings unencrypted. Unlock or start "
            "your keyring (Secret Service, KWallet, Keychain, Credential Manager) and try again."
        )


def load_or_create_key(device_id: str, *, create: bool) -> bytes:
    """Fetch this device's buffer key; create it only when the buffer is new.

    An existing buffer whose key has vanished is not given a fresh key: that would make the
    old data unreadable without saying so. The caller reports it instead.
    """
    _check_backend()
    username = f"buffer-key:{device_id}"
    try:
        stored = keyring.get_password(KEYRING_SERVICE, username)
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
        keyring.set_password(KEYRING_SERVICE, username, base64.b64encode(key).decode("ascii"))
        if keyring.get_password(KEYRING_SERVICE, username) is None:
            raise KeyringUnavailable("the keyring accepted the key but did not return it")
        return key
    except keyring.errors.KeyringLocked as exc:
        raise KeyringUnavailable(
            "the OS keyring is locked. Unlock it (log in again or open your keyring app) and retry."
        ) from exc
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring refused access: {exc}") from exc
