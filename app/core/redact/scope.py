"""Which windows may be recorded at all: deny-lists, allow-lists and sensible defaults.

A window is matched by process name, window class or title. Password managers and private
browsing windows are denied unless policy turns that off; an allow-list, when set, records
only the apps on it (and still honours every denial).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.model import WindowInfo
from app.core.settings import Settings

PASSWORD_MANAGERS = (
    "keepassxc",
    "keepass",
    "keepass2",
    "1password",
    "bitwarden",
    "lastpass",
    "dashlane",
    "enpass",
    "keeper",
    "nordpass",
    "roboform",
    "proton pass",
    "seahorse",
    "kwalletmanager5",
    "kwalletmanager",
    "gnome-keyring",
    "pass",
    "qtpass",
    "gopass",
    "authy",
    "yubico authenticator",
)
PRIVATE_BROWSING_TITLES = (
    r"\(Private Browsing\)",
    r"— Private Browsing",
    r"- Private Browsing",
    r"\bIncognito\b",
    r"\bInPrivate\b",
    r"Private Window",
    r"\(Private\)",
)


@dataclass(frozen=True)
class ScopeDecision:
    allowed: bool
    reason: str = ""  # why not, in words for the person: "KeePassXC is excluded"


def _names(window: WindowInfo) -> set[str]:
    names = {window.app.lower()}
    names.update(part.lower() for part in window.wm_class.split() if part)
    return names


class ScopeRules:
    def __init__(self, settings: Settings) -> None:
        denied = {a.lower() for a in settings.excluded_apps}
        if settings.deny_password_managers:
            denied.update(PASSWORD_MANAGERS)
        self._denied_apps = frozenset(denied)
        self._allowed_apps = frozenset(a.lower() for a in settings.allowed_apps)
        patterns = list(settings.excluded_title_patterns)
        if settings.deny_private_browsing:
            patterns += PRIVATE_BROWSING_TITLES
        self._denied_titles = [re.compile(p, re.IGNORECASE) for p in patterns]

    def decide(self, window: WindowInfo | None) -> ScopeDecision:
        if window is None:
            # Nothing known about the window in front: with an allow-list, record nothing.
            if self._allowed_apps:
                return ScopeDecision(False, "the window in front cannot be identified")
            return ScopeDecision(True)
        names = _names(window)
        if names & self._denied_apps:
            return ScopeDecision(False, f"{window.app} is excluded")
        for pattern in self._denied_titles:
            if pattern.search(window.title):
                return ScopeDecision(False, "a private or excluded window is in front")
        if self._allowed_apps and not names & self._allowed_apps:
            return ScopeDecision(False, f"{window.app} is not on the list of recorded apps")
        return ScopeDecision(True)

    def denied(self, window: WindowInfo | None) -> bool:
        return not self.decide(window).allowed
