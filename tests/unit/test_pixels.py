"""Channel sums done plane by plane give what numpy's reduction gives."""

from __future__ import annotations

import numpy as np

from app.core.redact.pixels import brightness, channel_total


def test_brightness_is_the_sum_of_the_channels() -> None:
    rgb = np.random.default_rng(7).integers(0, 256, (13, 21, 3), dtype=np.uint8)
    assert brightness(rgb).dtype == np.int16
    assert np.array_equal(brightness(rgb), rgb.sum(axis=2, dtype=np.int16))
    assert int(brightness(np.full((1, 1, 3), 255, np.uint8))[0, 0]) == 765


def test_channel_total_sums_signed_differences() -> None:
    diff = np.random.default_rng(8).integers(-255, 256, (5, 9, 3)).astype(np.int16)
    assert np.array_equal(channel_total(diff), diff.sum(axis=2))
    assert np.array_equal(channel_total(np.abs(diff[0])), np.abs(diff[0]).sum(axis=1))
