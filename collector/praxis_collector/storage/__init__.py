"""Storage backends behind one interface (base.Store)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from praxis_collector.errors import ConfigError
from praxis_collector.storage.base import Store, StoredObject

__all__ = ["Store", "StoredObject", "StorageSettings", "open_store"]


@dataclass(frozen=True)
class StorageSettings:
    kind: str = "fs"  # "fs" or "s3"
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None


def open_store(data_dir: Path, settings: StorageSettings) -> Store:
    if settings.kind == "fs":
        from praxis_collector.storage.filesystem import FilesystemStore

        return FilesystemStore(data_dir / "store")
    if settings.kind == "s3":
        if not settings.bucket:
            raise ConfigError("S3 storage needs --bucket")
        from praxis_collector.storage.s3 import S3Store

        return S3Store(settings.bucket, settings.prefix, settings.endpoint_url, settings.region)
    raise ConfigError(f"unknown storage {settings.kind!r}: use fs or s3")
