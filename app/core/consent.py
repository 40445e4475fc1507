"""The versioned consent text, and whether this buffer's owner accepted the current version."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from app.core.resources import resources_dir

_VERSION = re.compile(r"<!--\s*consent-version:\s*(\d+)\s*-->")


@dataclass(frozen=True)
class ConsentText:
    version: int
    body: str


def load_consent_text() -> ConsentText:
    raw = (resources_dir() / "consent.md").read_text(encoding="utf-8")
    match = _VERSION.search(raw)
    if match is None:
        raise ValueError("resources/consent.md has no consent-version marker")
    return ConsentText(int(match.group(1)), _VERSION.sub("", raw).strip())


@dataclass(frozen=True)
class ConsentRecord:
    version: int
    accepted_at: float

    def covers(self, text: ConsentText) -> bool:
        return self.version == text.version

    @staticmethod
    def now(version: int) -> ConsentRecord:
        return ConsentRecord(version, time.time())
