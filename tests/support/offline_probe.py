"""Run under `strace -f` by tests/unit/test_no_telemetry.py: loads what the recorder and the
tray load, reads text off a frame in the OCR worker process, and redacts it. The test then
checks the trace for network use and for files written outside the data folder.

    python -m tests.support.offline_probe DATA_DIR [--qt]
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    import app.core.recorder  # noqa: F401  (the recorder's modules, as `record --headless` loads them)
    import app.core.service  # noqa: F401
    from app.core.redact.frames import FrameContext, default_frame_redactor
    from app.core.redact.text import TextScrubber
    from app.core.settings import Settings

    data = Path(next(a for a in sys.argv[1:] if not a.startswith("--")))
    image = Image.new("RGB", (640, 60), "white")
    font = ImageFont.load_default(size=20)
    ImageDraw.Draw(image).text((10, 18), "write to dana.lee@example.com", fill="black", font=font)
    redactor = default_frame_redactor(Settings())
    out = redactor.redact(np.asarray(image).copy(), FrameContext(None, []))
    redactor.close()
    if out is None or not (out[20:38, 130:300] == 0).all(axis=2).any():
        print("the frame was not redacted", file=sys.stderr)
        return 1
    # Typed text passes the detectors too (phone numbers load their metadata lazily).
    scrubbed = TextScrubber.from_settings(Settings()).scrub("call +49 30 901820 or mail a@b.de")
    (data / "typed.txt").write_text(scrubbed[0])

    import keyring

    keyring.get_keyring()  # the backend the buffer's key would go to
    if "--qt" in sys.argv:
        from PySide6.QtGui import QGuiApplication, QImage, QPainter

        app = QGuiApplication([])
        canvas = QImage(200, 40, QImage.Format.Format_RGB32)
        painter = QPainter(canvas)
        painter.drawText(10, 20, "tray")  # fonts load
        painter.end()
        app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
