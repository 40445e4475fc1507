"""Limits on what another application controls: the names and titles of its windows, and
the characters that reach the recorder as typed keys.

A window title can be megabytes long. Every key press looks at the title of the window in
front (is it a sign-in prompt?), every frame at the titles of every visible window (scope
rules), and each new title is scrubbed: unbounded, one hostile window costs seconds of
scanning per key and stalls capture. Titles are cut where they enter, a little beyond what
is kept, so that the scrubber still recognises a value that the cut splits; what is kept
is then cut again before that margin, so no part of a split value survives unscrubbed.

A lone surrogate (half of a UTF-16 pair: Windows reports some characters that way, and any
X client can inject one as a keysym) cannot be written as UTF-8: stored as it came, it would
make the segment impossible to package, so it could never be reviewed, exported or sent.
"""

from __future__ import annotations

import re
from dataclasses import replace

from app.core.model import WindowInfo
from app.core.redact.text import Hit, TextScrubber

TITLE_KEPT = 2048  # characters of a title that are stored; no title bar shows more
TITLE_MARGIN = 256  # read past the cut, longer than any value a detector looks for
NAME_KEPT = 256  # app and window class names
ELLIPSIS = "\u2026"
_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (the replacement character)."""
    return _SURROGATE.sub("\ufffd", text)


def bounded(window: WindowInfo | None) -> WindowInfo | None:
    """`window` with its title and names cut to a size that is cheap to look at."""
    if window is None:
        return None
    limit = TITLE_KEPT + TITLE_MARGIN
    names = (window.app, window.wm_class)
    if (
        len(window.title) <= limit
        and all(len(name) <= NAME_KEPT for name in names)
        and not any(_SURROGATE.search(text) for text in (window.title, *names))
    ):
        return window
    return replace(
        window,
        title=well_formed(window.title[:limit]),
        app=well_formed(window.app[:NAME_KEPT]),
        wm_class=well_formed(window.wm_class[:NAME_KEPT]),
    )


def scrub_title(scrubber: TextScrubber, title: str) -> tuple[str, list[Hit]]:
    """The scrubbed title to store. A title longer than what is kept loses its end: the
    part near the cut is dropped whether or not the scrubber recognised it."""
    text, hits = scrubber.scrub(title)
    if len(title) <= TITLE_KEPT:
        return text, hits
    return text[: max(0, min(TITLE_KEPT, len(text) - TITLE_MARGIN))] + ELLIPSIS, hits
