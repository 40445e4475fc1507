"""The one small interface every storage backend implements.

Keys are relative, slash-separated names made only of letters, digits, `_`, `-`, `.` and `/`
(callers build them from validated ids). An object appears whole or not at all: a reader never
sees half a package.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from praxis_collector.errors import CollectorError

_KEY = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise CollectorError(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


class Store(ABC):
    """Where packages, their records and the token list live."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for logs and messages (no credentials)."""

    @abstractmethod
    def check(self) -> None:
        """Raise StorageUnavailable when the storage cannot be reached."""

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None:
        """Store the file's bytes under key atomically; the file may be consumed."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store small bytes under key atomically, replacing what was there."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""

    @abstractmethod
    def read_chunks(self, key: str, size: int = 1 << 20) -> Iterator[bytes]:
        """The object's bytes in pieces; raises KeyError when there is none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with prefix, in key order."""
