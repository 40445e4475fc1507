"""First-run consent, and the read-only "What is recorded" view of the same text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
)

from app.core.consent import ConsentText
from app.core.settings import Settings


def scope_summary(settings: Settings) -> str:
    """What this installation captures, in plain words, from the settings in force."""
    kinds = [
        name
        for enabled, name in (
            (settings.capture_keys, "keys and typed text (with personal data removed)"),
            (settings.capture_mouse, "mouse clicks, scrolls and movement"),
            (settings.capture_screen, "screenshots around your actions"),
        )
        if enabled
    ]
    lines = ["**On this computer Praxis records:** " + ("; ".join(kinds) or "nothing") + "."]
    if settings.excluded_apps:
        lines.append("**Never recorded:** " + ", ".join(settings.excluded_apps) + ".")
    lines.append(
        f"**Kept locally** until you review it, up to {settings.disk_budget_mb} MB; recording "
        "pauses with a notice when that is reached."
    )
    if settings.upload == "auto" or settings.auto_after_hours > 0:
        hours = settings.auto_after_hours or 24
        lines.append(
            f"**Review period:** recordings you have not deleted are approved for upload "
            f"automatically {hours:g} hours after they were made."
        )
    else:
        lines.append("**Upload:** only recordings you approve in the review window are sent.")
    if settings.locked:
        lines.append("Some of these choices are set by your organization.")
    return "\n\n".join(lines)


class ConsentDialog(QDialog):
    """Accept starts recording; Decline records nothing. `read_only` shows the text only."""

    def __init__(self, text: ConsentText, settings: Settings, *, read_only: bool = False) -> None:
        super().__init__()
        self.setWindowTitle("What Praxis records" if read_only else "Praxis: your consent")
        self.setMinimumSize(560, 600)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 16)
        layout.setSpacing(12)
        body = QTextBrowser()
        body.setOpenExternalLinks(False)
        body.setMarkdown(text.body + "\n\n---\n\n" + scope_summary(settings))
        body.document().setDocumentMargin(12)
        layout.addWidget(body, 1)
        version = QLabel(f"Consent text version {text.version}")
        layout.addWidget(version)
        if read_only:
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
            buttons.rejected.connect(self.reject)
        else:
            buttons = QDialogButtonBox()
            self.accept_button = buttons.addButton(
                "Accept and start recording", QDialogButtonBox.ButtonRole.AcceptRole
            )
            self.decline_button = buttons.addButton(
                "Decline", QDialogButtonBox.ButtonRole.RejectRole
            )
            buttons.accepted.connect(self.accept)
            buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if not read_only:
            # Only once the buttons are inside the dialog does QDialog take note of the default;
            # set earlier, it picks the first button (Accept) when shown.
            self.decline_button.setDefault(True)  # Enter never consents by accident
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
