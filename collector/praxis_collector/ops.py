"""What IT runs against stored data: list, verify every hash, export a training-ready index."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from praxis_collector import catalog
from praxis_collector.metadata import UploadMetadata
from praxis_collector.storage import Store


@dataclass(frozen=True)
class Problem:
    key: str
    message: str


def _copy_checked(store: Store, record: catalog.StoredRecord, dest: Path) -> str | None:
    """Copy the record's package to dest and check it; what is wrong, or None."""
    key = catalog.package_key(record.device_id, record.segment_id)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(dest, "wb") as fh:
            for chunk in store.read_chunks(key):
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    except KeyError:
        return "the record has no package"
    if size != record.size:
        return f"{size} bytes stored, the record says {record.size}"
    if digest.hexdigest() != record.sha256:
        return "SHA-256 of the stored package is not the record's"
    meta = UploadMetadata(
        record.segment_id, record.device_id, record.sha256, record.format_version, record.filename
    )
    try:
        catalog.check_manifest(catalog.read_manifest(dest), meta, size)
    except catalog.PackageInvalid as exc:
        return exc.message
    return None


def _orphans(store: Store) -> Iterator[Problem]:
    keys = {o.key for o in store.list(catalog.PACKAGES)}
    for key in sorted(keys):
        stem, _, ext = key.rpartition(".")
        if ext == "zip" and f"{stem}.json" not in keys:
            yield Problem(key, "a package without a record (storing it was cut short)")
        elif ext not in ("zip", "json"):
            yield Problem(key, "not a package or record")


def verify(store: Store) -> tuple[int, list[Problem]]:
    """How many packages are whole, and what is wrong with the others."""
    good, problems = 0, list(_orphans(store))
    with tempfile.TemporaryDirectory(prefix="praxis-verify-") as tmp:
        for record in catalog.records(store):
            problem = _copy_checked(store, record, Path(tmp, "package.zip"))
            key = catalog.package_key(record.device_id, record.segment_id)
            if problem:
                problems.append(Problem(key, problem))
            else:
                good += 1
    return good, problems


def index_line(record: catalog.StoredRecord, path: str) -> dict[str, Any]:
    manifest = record.manifest
    return {
        "segment_id": record.segment_id,
        "device_id": record.device_id,
        "session_id": manifest.get("session_id"),
        "path": path,
        "sha256": record.sha256,
        "bytes": record.size,
        "format_version": record.format_version,
        "app_version": manifest.get("app_version"),
        "started_at": manifest.get("started_at"),
        "ended_at": manifest.get("ended_at"),
        "duration_s": manifest.get("duration_s"),
        "stored_at": record.stored_at,
        "receipt": manifest.get("receipt"),
        "manifest": manifest,
    }


def export(store: Store, out: Path) -> tuple[int, list[Problem]]:
    """Copy every whole package under out/packages/ and write out/index.jsonl naming them.

    A package that fails its check is left out of the index (and its copy removed)."""
    out.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, Any]] = []
    problems = list(_orphans(store))
    for record in catalog.records(store):
        rel = f"packages/{record.device_id}/{record.segment_id}.zip"
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        problem = _copy_checked(store, record, dest)
        if problem:
            dest.unlink(missing_ok=True)
            key = catalog.package_key(record.device_id, record.segment_id)
            problems.append(Problem(key, problem))
        else:
            lines.append(index_line(record, rel))
    lines.sort(key=lambda line: (line["started_at"] or "", line["device_id"], line["segment_id"]))
    temp = out / ".index.jsonl.tmp"
    with open(temp, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, out / "index.jsonl")
    return len(lines), problems
