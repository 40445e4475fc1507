"""Tells the capture thread when one of Praxis's own popups (tray menu, submenus, context
menus) is on screen, so that clicks on them are not recorded as the person's work."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget

from app.core.capture.own_popups import OwnPopups, own_popups

_SHOW, _HIDE = QEvent.Type.Show, QEvent.Type.Hide


class PopupWatch(QObject):
    """An application-wide event filter that only looks at show and hide events."""

    def __init__(self, parent: QObject | None = None, popups: OwnPopups = own_popups) -> None:
        super().__init__(parent)
        self._popups = popups

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if (
            kind in (_SHOW, _HIDE)
            and isinstance(watched, QWidget)
            and watched.windowType() == Qt.WindowType.Popup
        ):
            if kind == _SHOW:
                self._popups.shown(id(watched))
            else:
                self._popups.hidden(id(watched))
        return False
