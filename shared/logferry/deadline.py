"""The invocation's deadline: the moment every sink must stop sending, so the run has time left
to park what is pending and hand the rest of its object to a continuation."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


class DeadlineExceeded(TimeoutError):
    """No time is left to start (or wait for) a network call."""


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock (``None``: no deadline, as in the CLIs)."""

    at: float | None = None

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        """The deadline ``seconds`` from now (none when ``seconds`` is ``None``)."""
        return cls(None if seconds is None else time.monotonic() + seconds)

    def left(self) -> float:
        """Seconds left (infinite without a deadline; negative once passed)."""
        return math.inf if self.at is None else self.at - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.left() <= 0

    def timeout(self, cap: float) -> float:
        """The timeout for one call: ``cap``, shortened to the time left.

        Raises :class:`DeadlineExceeded` when no time is left, so no call starts late.
        """
        left = self.left()
        if left <= 0:
            raise DeadlineExceeded(f"deadline passed {-left:.1f} s ago")
        return min(cap, left)


NO_DEADLINE = Deadline()

DEFAULT_RESERVE_SECONDS = 20.0
"""``RESERVE_SECONDS``' default: five calls of 4 s (see :func:`call_bound`)."""


def call_bound(reserve_seconds: float) -> float:
    """The longest one network call of a shipping run may take: a fifth of the reserve.

    The run stops reading ``reserve_seconds`` (five calls) before the end; its sinks' calls
    end by half the reserve before the end (two calls' time to send what is buffered); half a
    call of slack; one park attempt, which must end one call before the end; then the
    continuation invoke, one call.
    """
    return reserve_seconds / 5
