"""The interface every OS implementation provides."""

from __future__ import annotations

from abc import ABC, abstractmethod

from app.core.model import WindowInfo


class Platform(ABC):
    name = "abstract"

    @abstractmethod
    def check_capture_supported(self) -> None:
        """Raise DisplayUnavailable with a person-readable reason if capture cannot work here."""

    @abstractmethod
    def active_window(self) -> WindowInfo | None:
        """The window that has the keyboard focus, or None if it cannot be told."""

    def password_field_focused(self, at: float | None = None) -> bool | None:
        """Whether the keyboard focus is in a password field; None when this system cannot
        tell (then callers fall back to the window title, and keep less when unsure)."""
        return None

    def visible_windows(self) -> list[WindowInfo] | None:
        """Mapped top-level windows, bottom to top; None when this system cannot list them
        (then callers must assume the worst)."""
        return None

    def window_owner_at(self, x: int, y: int) -> int | None:
        """The process id of the window under a screen point (the innermost that names
        one: a tray icon sits inside the panel's window), or None when it cannot be told."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook; most platforms hold nothing
        """Release OS handles. Called from the thread that used the platform."""
