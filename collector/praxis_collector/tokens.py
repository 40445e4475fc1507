"""Device tokens: issued once, kept only as a SHA-256, revocable.

A token is `pxc_<id>_<secret>`. The id names its record (`tokens/<id>.json` in the store, so
every collector process over the same storage knows it); the record holds the SHA-256 of the
whole token, never the token. The secret is 256 random bits, so a plain SHA-256 is enough: there
is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass

from praxis_collector.errors import CollectorError
from praxis_collector.storage import Store

_TOKEN = re.compile(r"pxc_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_ID = re.compile(r"[0-9a-f]{12}")
_PREFIX = "tokens/"


class TokenError(CollectorError):
    """Why a request's token is not accepted; `code` is the wire error code."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class TokenRecord:
    id: str
    name: str
    sha256: str
    created_at: float
    revoked_at: float | None = None
    device_id: str | None = None  # bound on the first upload
    quota_bytes: int | None = None  # None: the server's default

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> TokenRecord:
        raw = json.loads(data)
        return cls(**{k: raw.get(k) for k in cls.__dataclass_fields__})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _key(token_id: str) -> str:
    return f"{_PREFIX}{token_id}.json"


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise CollectorError("a token name is 1 to 100 printable characters")
    return name


def create(store: Store, name: str, quota_bytes: int | None = None) -> tuple[str, TokenRecord]:
    """A new token and its record; the token is returned once and never stored."""
    name = check_name(name)
    if quota_bytes is not None and quota_bytes <= 0:
        raise CollectorError("a quota must be a positive number")
    while True:
        token_id = secrets.token_hex(6)
        if store.get_bytes(_key(token_id)) is None:
            break
    token = f"pxc_{token_id}_{secrets.token_urlsafe(32)}"
    record = TokenRecord(token_id, name, _digest(token), time.time(), quota_bytes=quota_bytes)
    store.put_bytes(_key(token_id), record.to_json())
    return token, record


def get(store: Store, token_id: str) -> TokenRecord | None:
    if not _ID.fullmatch(token_id):
        return None
    data = store.get_bytes(_key(token_id))
    return None if data is None else TokenRecord.from_json(data)


def save(store: Store, record: TokenRecord) -> None:
    store.put_bytes(_key(record.id), record.to_json())


def revoke(store: Store, token_id: str) -> TokenRecord:
    record = get(store, token_id)
    if record is None:
        raise CollectorError(f"there is no token {token_id!r}; `praxis-collector token list`")
    if record.revoked_at is None:
        record.revoked_at = time.time()
        save(store, record)
    return record


def list_all(store: Store) -> list[TokenRecord]:
    records = []
    for obj in store.list(_PREFIX):
        data = store.get_bytes(obj.key)
        if data is not None:
            records.append(TokenRecord.from_json(data))
    return sorted(records, key=lambda r: r.created_at)


def authenticate(store: Store, authorization: str | None) -> TokenRecord:
    """The record of a valid, unrevoked bearer token, or a TokenError for the answer."""
    if not authorization:
        raise TokenError("token_missing", 401, "this request has no device token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    match = _TOKEN.fullmatch(token)
    if scheme.lower() != "bearer" or not match:
        raise TokenError("token_invalid", 401, "the device token is not one this collector issues")
    record = get(store, match.group(1))
    if record is None or not hmac.compare_digest(record.sha256, _digest(token)):
        raise TokenError("token_invalid", 401, "the device token is not known to this collector")
    if record.revoked_at is not None:
        raise TokenError(
            "token_revoked", 403, "this device's token was revoked; ask IT to enroll it again"
        )
    return record
