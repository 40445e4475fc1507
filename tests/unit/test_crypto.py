import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.buffer.crypto import NONCE_BYTES, Sealer, TamperedData, aad_for, load_or_create_key
from app.core.errors import KeyringUnavailable


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(AESGCM.generate_key(bit_length=256))


def test_round_trip(sealer: Sealer) -> None:
    aad = aad_for("events", "seg_1/3", "data")
    assert sealer.open(sealer.seal(b"hello", aad), aad) == b"hello"


def test_tampered_ciphertext_is_rejected(sealer: Sealer) -> None:
    aad = aad_for("frames", "seg_1/1", "blob")
    sealed = bytearray(sealer.seal(b"frame bytes", aad))
    sealed[-5] ^= 0x01
    with pytest.raises(TamperedData):
        sealer.open(bytes(sealed), aad)


def test_value_moved_to_another_row_is_rejected(sealer: Sealer) -> None:
    sealed = sealer.seal(b"typed text", aad_for("events", "seg_1/3", "data"))
    with pytest.raises(TamperedData):
        sealer.open(sealed, aad_for("events", "seg_1/4", "data"))


def test_truncated_value_is_rejected(sealer: Sealer) -> None:
    with pytest.raises(TamperedData):
        sealer.open(b"\x01short", b"aad")


def test_nonces_are_never_reused(sealer: Sealer) -> None:
    nonces = {sealer.seal(b"x", b"a")[1 : 1 + NONCE_BYTES] for _ in range(20_000)}
    assert len(nonces) == 20_000


def test_same_plaintext_gives_different_ciphertexts(sealer: Sealer) -> None:
    assert sealer.seal(b"same", b"a") != sealer.seal(b"same", b"a")


def test_key_is_created_once_and_kept_in_the_keyring() -> None:
    first = load_or_create_key("dev_test", create=True)
    assert load_or_create_key("dev_test", create=False) == first
    assert len(first) == 32


def test_missing_key_for_an_existing_buffer_is_an_error_not_a_new_key() -> None:
    with pytest.raises(KeyringUnavailable, match="missing from the keyring"):
        load_or_create_key("dev_never_created", create=False)


def test_failing_keyring_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        with pytest.raises(KeyringUnavailable, match="no secure OS keyring"):
            load_or_create_key("dev_x", create=True)
    finally:
        keyring.set_keyring(previous)


def test_plaintext_keyring_not_chosen_on_purpose_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    with pytest.raises(KeyringUnavailable):
        load_or_create_key("dev_y", create=True)
