"""Errors with a short title and a one-line message a person can act on."""

from __future__ import annotations


class CollectorError(Exception):
    """Something the operator or a client can fix; never shown with a traceback."""

    title = "Collector error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StorageUnavailable(CollectorError):
    title = "Storage unavailable"


class ConfigError(CollectorError):
    title = "Bad setting"
