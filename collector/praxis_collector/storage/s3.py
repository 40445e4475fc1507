"""S3-compatible backend (AWS S3, MinIO, Ceph, ...) through boto3.

Credentials come the usual boto3 way (environment, ~/.aws, instance role); they are never
logged. An S3 PUT makes an object visible whole or not at all, which is the atomicity the
interface asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from praxis_collector.errors import ConfigError, StorageUnavailable
from praxis_collector.storage.base import Store, StoredObject, check_key


class S3Store(Store):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise ConfigError("S3 storage needs boto3: install praxis-collector[s3]") from None
        self._errors: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
        self._client_error = ClientError
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30
        )
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"bucket {self.bucket}{where}" + (f" under {self.prefix}" if self.prefix else "")

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _unavailable(self, what: str, exc: Exception) -> StorageUnavailable:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return StorageUnavailable(f"{what} in {self.describe()} failed: {detail}")

    def _missing(self, exc: Exception) -> bool:
        if not isinstance(exc, self._client_error):
            return False
        code = exc.response.get("Error", {}).get("Code", "")
        return code in ("NoSuchKey", "404", "NotFound")

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors as exc:
            raise self._unavailable("checking the bucket", exc) from exc

    def put_file(self, key: str, path: Path) -> None:
        try:
            self.client.upload_file(str(path), self.bucket, self._key(key))
        except self._errors as exc:
            raise self._unavailable(f"storing {key}", exc) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {path}: {exc.strerror}") from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except self._errors as exc:
            raise self._unavailable(f"storing {key}", exc) from exc

    def get_bytes(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return bytes(answer["Body"].read())
        except self._errors as exc:
            if self._missing(exc):
                return None
            raise self._unavailable(f"reading {key}", exc) from exc

    def read_chunks(self, key: str, size: int = 1 << 20) -> Iterator[bytes]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors as exc:
            if self._missing(exc):
                raise KeyError(key) from None
            raise self._unavailable(f"reading {key}", exc) from exc
        body = answer["Body"]
        try:
            while chunk := body.read(size):
                yield chunk
        except self._errors as exc:
            raise self._unavailable(f"reading {key}", exc) from exc
        finally:
            body.close()

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors as exc:
            if not self._missing(exc):
                raise self._unavailable(f"deleting {key}", exc) from exc

    def list(self, prefix: str) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"][len(self.prefix) :], int(item["Size"]))
        except self._errors as exc:
            raise self._unavailable("listing", exc) from exc
