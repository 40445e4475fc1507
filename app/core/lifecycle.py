"""Segment lifecycle states. A segment is the unit that is reviewed, approved and uploaded."""

from __future__ import annotations

from enum import Enum


class SegmentState(str, Enum):
    OPEN = "open"  # being recorded
    SEALED = "sealed"  # closed, waiting for review
    APPROVED = "approved"  # content hash frozen; may leave the machine
    UPLOADING = "uploading"
    ACKNOWLEDGED = "acknowledged"  # the collector confirmed length and checksum


# What "delete everything not yet uploaded" covers.
DELETABLE_STATES = (
    SegmentState.OPEN,
    SegmentState.SEALED,
    SegmentState.APPROVED,
    SegmentState.UPLOADING,
)
