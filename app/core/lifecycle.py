"""Segment lifecycle. A segment is the unit that is reviewed, approved and uploaded.

```
open → sealed → pending_review → approved → uploading → acknowledged → purged
                      ↑              │ content changed after approval
                      └──────────────┘
every state → deleted (an uploaded one also queues its erasure on the collector)
```
Only an approved segment whose package still hashes to the value frozen at approval may leave
the machine (`app.core.egress`). Deleted and purged segments keep a row without content, so
the history says what happened to them and an auto-approval can never bring them back.
"""

from __future__ import annotations

from enum import Enum


class SegmentState(str, Enum):
    OPEN = "open"  # being recorded
    SEALED = "sealed"  # closed; its package has not been prepared for review yet
    PENDING_REVIEW = "pending_review"  # package prepared; waiting for the person to review it
    APPROVED = "approved"  # content hash frozen; may leave the machine
    UPLOADING = "uploading"
    ACKNOWLEDGED = "acknowledged"  # the collector confirmed length and checksum
    PURGED = "purged"  # content removed after the collector confirmed it
    DELETED = "deleted"  # content removed by the person before it left

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SegmentState.OPEN: "recording",
    SegmentState.SEALED: "waiting for review",
    SegmentState.PENDING_REVIEW: "waiting for review",
    SegmentState.APPROVED: "approved",
    SegmentState.UPLOADING: "uploading",
    SegmentState.ACKNOWLEDGED: "uploaded",
    SegmentState.PURGED: "uploaded and removed",
    SegmentState.DELETED: "deleted",
}

# What "delete everything not yet uploaded" covers.
DELETABLE_STATES = (
    SegmentState.OPEN,
    SegmentState.SEALED,
    SegmentState.PENDING_REVIEW,
    SegmentState.APPROVED,
    SegmentState.UPLOADING,
)
# What waits for the person: listed in the review window and counted in the tray.
REVIEWABLE_STATES = (SegmentState.SEALED, SegmentState.PENDING_REVIEW)
# What "delete this session" covers: uploaded ones too, whose erasure is then queued.
ERASABLE_STATES = DELETABLE_STATES + (SegmentState.ACKNOWLEDGED, SegmentState.PURGED)
# Segments that still hold content (rows in events and frames).
WITH_CONTENT = DELETABLE_STATES + (SegmentState.ACKNOWLEDGED,)

_ALLOWED: dict[SegmentState, frozenset[SegmentState]] = {
    SegmentState.OPEN: frozenset({SegmentState.SEALED, SegmentState.DELETED}),
    SegmentState.SEALED: frozenset({SegmentState.PENDING_REVIEW, SegmentState.DELETED}),
    SegmentState.PENDING_REVIEW: frozenset(
        {SegmentState.PENDING_REVIEW, SegmentState.APPROVED, SegmentState.DELETED}
    ),
    SegmentState.APPROVED: frozenset(
        {SegmentState.UPLOADING, SegmentState.PENDING_REVIEW, SegmentState.DELETED}
    ),
    SegmentState.UPLOADING: frozenset(
        {
            SegmentState.ACKNOWLEDGED,
            SegmentState.APPROVED,
            SegmentState.PENDING_REVIEW,
            SegmentState.DELETED,
        }
    ),
    SegmentState.ACKNOWLEDGED: frozenset({SegmentState.PURGED, SegmentState.DELETED}),
    SegmentState.PURGED: frozenset({SegmentState.DELETED}),
    SegmentState.DELETED: frozenset(),
}


class LifecycleError(RuntimeError):
    """A transition the lifecycle does not allow: a bug or a race, never silently applied."""


def check_segment_transition(current: SegmentState, target: SegmentState) -> None:
    if target not in _ALLOWED[current]:
        raise LifecycleError(f"a segment cannot go from {current.value} to {target.value}")
