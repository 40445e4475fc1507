"""The versioned consent text, and whether this buffer's owner accepted the current version."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import PolicyError
from app.core.resources import resources_dir

if TYPE_CHECKING:
    from app.core.settings import Settings

_VERSION = re.compile(r"<!--\s*consent-version:\s*(\d+)\s*-->")


@dataclass(frozen=True)
class ConsentText:
    version: int
    body: str


def load_consent_text(settings: Settings | None = None) -> ConsentText:
    """The consent text in force: the organisation's file when policy names one, else the one
    shipped with the app. Policy's `consent_version`, when set, must match the text's."""
    if settings is not None and settings.consent_text_file:
        path = Path(settings.consent_text_file)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(
                f"the consent text named by policy ({path}) cannot be read ({exc}); "
                "recording stays off"
            ) from exc
        text = _parse(raw, str(path), PolicyError)
    else:
        raw = (resources_dir() / "consent.md").read_text(encoding="utf-8")
        text = _parse(raw, "resources/consent.md", ValueError)
    wanted = settings.consent_version if settings is not None else 0
    if wanted and text.version != wanted:
        raise PolicyError(
            f"policy expects consent text version {wanted}, but the text in "
            f"use is version {text.version}; recording stays off until IT deploys the matching "
            "text"
        )
    return text


def _parse(raw: str, name: str, error: type[Exception]) -> ConsentText:
    match = _VERSION.search(raw)
    if match is None:
        raise error(f"{name} has no <!-- consent-version: N --> marker")
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
