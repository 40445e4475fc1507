"""Small operations on RGB pixels that run for every line of every frame.

numpy reduces a trailing axis of three channels slowly (`a.sum(axis=2)` costs about ten times
three additions of channel planes), so the channels are added plane by plane here.
"""

from __future__ import annotations

import numpy as np


def brightness(rgb: np.ndarray) -> np.ndarray:
    """The sum of each pixel's three channels, as int16 (0..765)."""
    level = rgb[..., 0].astype(np.int16)
    level += rgb[..., 1]
    level += rgb[..., 2]
    return level


def channel_total(values: np.ndarray) -> np.ndarray:
    """The sum over the last axis of three channels of signed values (int16)."""
    total = values[..., 0].astype(np.int16)
    total += values[..., 1]
    total += values[..., 2]
    return total
