"""Upload-Metadata of a Praxis upload: parsed, and every value checked (docs/UPLOAD.md)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from praxis_collector.errors import CollectorError

MAX_METADATA = 4096
FORMAT_VERSIONS = {1}
_PATTERNS = {
    "segment_id": re.compile(r"seg_[0-9a-f]{16}"),
    "device_id": re.compile(r"dev_[0-9a-f]{16}"),
    "sha256": re.compile(r"[0-9a-f]{64}"),
    "format_version": re.compile(r"[0-9]{1,4}"),
}
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
REQUIRED = ("segment_id", "device_id", "sha256", "format_version", "filename")


class MetadataError(CollectorError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class UploadMetadata:
    segment_id: str
    device_id: str
    sha256: str
    format_version: int
    filename: str


def parse_header(header: str | None) -> dict[str, str]:
    """tus's `key base64,key base64` list; an error names what is wrong."""
    if header is None or not header.strip():
        raise MetadataError("bad_metadata", "Upload-Metadata is missing")
    if len(header) > MAX_METADATA:
        raise MetadataError("bad_metadata", f"Upload-Metadata is over {MAX_METADATA} bytes")
    values: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not _KEY.fullmatch(key) or len(parts) > 2:
            raise MetadataError("bad_metadata", "Upload-Metadata is not a list of `key base64`")
        if key in values:
            raise MetadataError("bad_metadata", f"Upload-Metadata has {key} twice")
        encoded = parts[1] if len(parts) == 2 else ""
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise MetadataError(
                "bad_metadata", f"Upload-Metadata value of {key} is not base64 of UTF-8 text"
            ) from None
    return values


def _filename_ok(name: str) -> bool:
    return (
        1 <= len(name) <= 200
        and name not in (".", "..")
        and not any(c in name for c in "/\\")
        and all(c.isprintable() for c in name)
    )


def validate(values: dict[str, str]) -> UploadMetadata:
    for key in REQUIRED:
        if key not in values:
            raise MetadataError("bad_metadata", f"Upload-Metadata has no {key}")
    for key, pattern in _PATTERNS.items():
        if not pattern.fullmatch(values[key]):
            raise MetadataError("bad_metadata", f"Upload-Metadata {key} is not valid")
    if not _filename_ok(values["filename"]):
        raise MetadataError("bad_metadata", "Upload-Metadata filename is not a plain file name")
    version = int(values["format_version"])
    if version not in FORMAT_VERSIONS:
        raise MetadataError(
            "unsupported_format", f"this collector does not read format_version {version}"
        )
    return UploadMetadata(
        values["segment_id"], values["device_id"], values["sha256"], version, values["filename"]
    )


def parse(header: str | None) -> UploadMetadata:
    return validate(parse_header(header))


def encode(meta: UploadMetadata) -> str:
    """The Upload-Metadata header for these values (a HEAD answers it back)."""
    values = {
        "segment_id": meta.segment_id,
        "device_id": meta.device_id,
        "sha256": meta.sha256,
        "format_version": str(meta.format_version),
        "filename": meta.filename,
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())
