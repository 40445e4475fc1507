"""Tray icons from resources/icons: SVG first, PNG where SVG cannot be drawn; a light or dark
variant to suit the panel. `python -m app.ui.icons` renders the PNG fallbacks."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap

from app.core.resources import resources_dir
from app.ui.tray_state import TrayState

PNG_SIZES = (16, 22, 24, 32, 48, 64)


def icons_dir() -> Path:
    return resources_dir() / "icons"


def panel_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    color = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return color.lightness() < 128


@cache
def state_icon(state: TrayState, dark: bool) -> QIcon:
    variant = "dark" if dark else "light"
    svg = icons_dir() / f"{state.value}-{variant}.svg"
    icon = QIcon()
    for size in PNG_SIZES:
        png = icons_dir() / "png" / f"{state.value}-{variant}-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    if svg.exists():
        svg_icon = QIcon(str(svg))
        if not svg_icon.pixmap(22, 22).isNull():
            return svg_icon
    return icon


def render_pngs() -> list[Path]:
    """Draw every SVG at the usual tray sizes (needs QtSvg, present in PySide6-Essentials)."""
    from PySide6.QtCore import Qt
    from PySide6.QtSvg import QSvgRenderer

    out_dir = icons_dir() / "png"
    out_dir.mkdir(exist_ok=True)
    written = []
    for svg in sorted(icons_dir().glob("*.svg")):
        renderer = QSvgRenderer(str(svg))
        for size in PNG_SIZES:
            image = QImage(size, size, QImage.Format.Format_ARGB32)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            renderer.render(painter)
            painter.end()
            target = out_dir / f"{svg.stem}-{size}.png"
            QPixmap.fromImage(image).save(str(target))
            written.append(target)
    return written


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication as _App

    _app = _App(sys.argv)
    print(f"wrote {len(render_pngs())} PNG icons")
