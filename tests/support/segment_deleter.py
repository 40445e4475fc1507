"""Deletes one recorded segment the way `praxis review --delete` does, on a signal from stdin:

    python segment_deleter.py DATA_DIR

Imports and opens the buffer first, then writes "ready" and waits for a segment id on a line
of its own; writes "done" once the deletion returned. Loading Python and the app takes about
a second, the deletion itself milliseconds: a kill test that ran the command itself would
almost always kill it before it touched the buffer. Exits when stdin closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.core import review
from app.core.buffer.store import Buffer


def main(data_dir: str) -> int:
    buffer = Buffer(Path(data_dir), create=False)
    buffer.unlock()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        segment_id = line.strip()
        if not segment_id:
            continue
        review.delete_segment(buffer, segment_id)
        sys.stdout.write("done\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
