"""Errors that carry a short title and a message a person can act on."""

from __future__ import annotations


class PraxisError(Exception):
    """Base class: `title` is a few words, `message` says what happened and what to do."""

    title = "Praxis error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


class KeyringUnavailable(PraxisError):
    title = "Keyring unavailable"


class StorageError(PraxisError):
    title = "Local buffer problem"


class DataDirError(PraxisError):
    title = "Data folder not usable"


class DisplayUnavailable(PraxisError):
    title = "No usable display"


class ConsentRequired(PraxisError):
    title = "Consent needed"


class PolicyError(PraxisError):
    title = "Managed policy problem"


class AlreadyRunning(PraxisError):
    title = "Already recording"


class NotRunning(PraxisError):
    title = "No recorder running"
