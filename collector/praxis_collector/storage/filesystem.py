"""Filesystem backend: one file per object under a root folder."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from praxis_collector.errors import StorageUnavailable
from praxis_collector.storage.base import Store, StoredObject, check_key

_TMP = ".tmp-"


def _fsync_dir(path: Path) -> None:
    """Make a rename in this folder durable. Windows has no such call (NTFS journals the
    rename itself), so there it does nothing."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemStore(Store):
    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"folder {self.root}"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise StorageUnavailable(f"cannot write to {self.root}")
        except OSError as exc:
            raise StorageUnavailable(f"cannot use {self.root}: {exc.strerror}") from exc

    def _temp_for(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f"{_TMP}{secrets.token_hex(6)}-{target.name}")

    def _commit(self, temp: Path, target: Path) -> None:
        os.replace(temp, target)
        _fsync_dir(target.parent)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        try:
            temp = self._temp_for(target)
            try:
                os.link(path, temp)  # same filesystem: no copy, and the source stays
            except OSError:  # another filesystem, or one without hard links (FAT, exFAT)
                shutil.copyfile(path, temp)
            with open(temp, "rb+") as fh:
                os.fsync(fh.fileno())
            self._commit(temp, target)
        except OSError as exc:
            raise StorageUnavailable(f"cannot store {key}: {exc.strerror}") from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        try:
            temp = self._temp_for(target)
            with open(temp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            self._commit(temp, target)
        except OSError as exc:
            raise StorageUnavailable(f"cannot store {key}: {exc.strerror}") from exc

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc.strerror}") from exc

    def read_chunks(self, key: str, size: int = 1 << 20) -> Iterator[bytes]:
        try:
            fh = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise KeyError(key) from None
        with fh:
            while chunk := fh.read(size):
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {key}: {exc.strerror}") from exc
        _fsync_dir(path.parent)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        # Walk only the folder the prefix names, not the whole store.
        folder, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*check_key(folder).split("/")) if folder else self.root
        if not start.is_dir():
            return
        found = []
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.startswith(_TMP):
                    continue
                full = Path(dirpath, name)
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(StoredObject(key, full.stat().st_size))
        yield from sorted(found, key=lambda o: o.key)
