"""When to try again: capped exponential backoff with full jitter, and Retry-After honoured.

Full jitter (a uniform draw between zero and the capped exponential) spreads the retries of
many devices after a collector outage instead of having them knock in step.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_RETRY_AFTER_S = 3600.0  # a server asking for more is asked again after an hour


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 300.0
    draw: Callable[[], float] = field(default=random.random, compare=False)

    def ceiling(self, attempts: int) -> float:
        """The largest wait after `attempts` failures in a row (0 for none)."""
        if attempts <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(attempts - 1, 62))

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        wait = self.draw() * self.ceiling(attempts)
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER_S))
        return wait
