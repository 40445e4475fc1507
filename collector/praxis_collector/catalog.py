"""Stored packages: one package and one record per device and segment, in the store.

    packages/<device_id>/<segment_id>.zip   the package, byte for byte what the device sent
    packages/<device_id>/<segment_id>.json  its record: hash, size, when and how it arrived,
                                            and the package's manifest (with the receipt)
    uploads/<device_id>/<upload_id>.json    a finished upload (UploadRecord), so a DELETE or
                                            HEAD works through any process over the store

The record is written after the package, so a record always names a whole package; a package
without a record (a crash in between) is reported by `verify` and never counted as stored.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from praxis_collector.errors import CollectorError
from praxis_collector.metadata import UploadMetadata
from praxis_collector.storage import Store

PACKAGES = "packages/"
UPLOADS = "uploads/"


class PackageInvalid(CollectorError):
    title = "Not a Praxis package"


def package_key(device_id: str, segment_id: str) -> str:
    return f"{PACKAGES}{device_id}/{segment_id}.zip"


def record_key(device_id: str, segment_id: str) -> str:
    return f"{PACKAGES}{device_id}/{segment_id}.json"


@dataclass
class StoredRecord:
    segment_id: str
    device_id: str
    sha256: str
    size: int
    format_version: int
    filename: str
    stored_at: str
    upload_id: str
    token_id: str
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> StoredRecord:
        raw = json.loads(data)
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# What a package may declare before any of it is decompressed: a manifest is a few kilobytes,
# a package a few megabytes. zipfile never inflates a member past its declared size, so these
# bound the work of reading a package built to expand without end.
MAX_MANIFEST_BYTES = 1 << 20
MAX_MEMBERS = 100_000
MAX_UNCOMPRESSED_BYTES = 16 << 30


def _check_declared(zf: zipfile.ZipFile, check_members: bool) -> None:
    if zf.getinfo("manifest.json").file_size > MAX_MANIFEST_BYTES:
        raise PackageInvalid(f"the package's manifest.json is over {MAX_MANIFEST_BYTES} bytes")
    if check_members:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise PackageInvalid(f"the package has over {MAX_MEMBERS} members")
        if sum(m.file_size for m in members) > MAX_UNCOMPRESSED_BYTES:
            raise PackageInvalid(
                f"the package's members add up to over {MAX_UNCOMPRESSED_BYTES} bytes"
            )


def read_manifest(path: Path, check_members: bool = True) -> dict[str, Any]:
    """The package's manifest, after checking every member's CRC when asked. An upload needs
    no member check: its SHA-256 already proves it is the package the device built."""
    try:
        with zipfile.ZipFile(path) as zf:
            _check_declared(zf, check_members)
            bad = zf.testzip() if check_members else None
            if bad is not None:
                raise PackageInvalid(f"the package's member {bad} is damaged")
            manifest = json.loads(zf.read("manifest.json"))
    except (zipfile.BadZipFile, EOFError):
        raise PackageInvalid("the upload is not a ZIP package") from None
    except KeyError:
        raise PackageInvalid("the package has no manifest.json") from None
    except (ValueError, UnicodeDecodeError):
        raise PackageInvalid("the package's manifest.json is not JSON") from None
    if not isinstance(manifest, dict):
        raise PackageInvalid("the package's manifest.json is not a JSON object")
    return manifest


def check_manifest(manifest: dict[str, Any], meta: UploadMetadata, size: int) -> None:
    for key in ("segment_id", "device_id", "format_version"):
        if manifest.get(key) != getattr(meta, key):
            raise PackageInvalid(f"the package's {key} is not the one in Upload-Metadata")
    declared = (manifest.get("receipt") or {}).get("bytes")
    if isinstance(declared, int) and declared != size:
        raise PackageInvalid("the package's receipt states another size than what arrived")


def get_record(store: Store, device_id: str, segment_id: str) -> StoredRecord | None:
    data = store.get_bytes(record_key(device_id, segment_id))
    return None if data is None else StoredRecord.from_json(data)


def put(store: Store, path: Path, record: StoredRecord) -> None:
    store.put_file(package_key(record.device_id, record.segment_id), path)
    store.put_bytes(record_key(record.device_id, record.segment_id), record.to_json())


def erase(store: Store, device_id: str, segment_id: str) -> bool:
    """Remove a stored package and its record; True when there was one."""
    existed = store.get_bytes(record_key(device_id, segment_id)) is not None
    store.delete(package_key(device_id, segment_id))
    store.delete(record_key(device_id, segment_id))
    return existed


def erase_if(store: Store, device_id: str, segment_id: str, sha256: str, upload_id: str) -> bool:
    """Erase the stored package only when it has this hash and, for a finished upload, is the
    very package that upload confirmed (not the same content stored anew since); True when
    it was erased."""
    record = get_record(store, device_id, segment_id)
    if record is None or record.sha256 != sha256:
        return False
    finished = get_upload_record(store, device_id, upload_id)
    if finished is not None and finished.package != record.upload_id:
        return False
    erase(store, device_id, segment_id)
    return True


def upload_key(device_id: str, upload_id: str) -> str:
    return f"{UPLOADS}{device_id}/{upload_id}.json"


@dataclass
class UploadRecord:
    """A finished upload, kept in the store so every collector process over it can answer a
    HEAD or DELETE for it. `package` names the upload that stored the package it confirmed:
    once that package is erased or stored anew, this upload is over."""

    id: str
    token_id: str
    device_id: str
    segment_id: str
    sha256: str
    length: int
    package: str
    metadata: dict[str, Any]
    created_at: float

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), ensure_ascii=False) + "\n").encode()


def put_upload_record(store: Store, record: UploadRecord) -> None:
    store.put_bytes(upload_key(record.device_id, record.id), record.to_json())


def get_upload_record(store: Store, device_id: str, upload_id: str) -> UploadRecord | None:
    data = store.get_bytes(upload_key(device_id, upload_id))
    if data is None:
        return None
    raw = json.loads(data)
    return UploadRecord(**{k: raw[k] for k in UploadRecord.__dataclass_fields__})


def device_usage(store: Store, device_id: str) -> int:
    return sum(o.size for o in store.list(f"{PACKAGES}{device_id}/") if o.key.endswith(".zip"))


def records(store: Store) -> Iterator[StoredRecord]:
    for obj in store.list(PACKAGES):
        if obj.key.endswith(".json"):
            data = store.get_bytes(obj.key)
            if data is not None:
                yield StoredRecord.from_json(data)
