"""What every sink's retries share: which answers are worth retrying, and how long to wait."""

from __future__ import annotations

import random


def retryable_status(status: int | None) -> bool:
    """Throttling (429) and server errors (5xx) are transient; ``None`` (no answer) too."""
    return status is None or status == 429 or status >= 500


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rng.uniform(0.0, min(cap, base * 2 ** (attempt - 1)))
