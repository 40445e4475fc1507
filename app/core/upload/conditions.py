"""The person's (or IT's) conditions for uploading: only on AC power, not on metered networks."""

from __future__ import annotations

from typing import Any, Protocol

from app.core.settings import Settings


class UploadConditions(Protocol):
    def blocked(self, settings: Settings) -> str | None:
        """Why uploads must wait now, or None."""


class Conditions:
    """Asks the platform; an answer the OS cannot give never blocks (see app.platform)."""

    def __init__(self, connectivity: Any = None) -> None:
        if connectivity is None:
            from app.platform.connectivity import get_connectivity

            connectivity = get_connectivity()
        self._connectivity = connectivity

    def blocked(self, settings: Settings) -> str | None:
        if settings.upload_on_ac_only and self._connectivity.on_battery() is True:
            return "uploads wait until the computer is plugged in (only on AC power)"
        if not settings.upload_on_metered and self._connectivity.metered() is True:
            return "uploads wait for a connection that is not metered"
        return None
