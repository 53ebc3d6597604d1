"""Query windows aligned to the rule's window size: no gaps, no overlaps, catch-up after misses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int

    @property
    def previous(self) -> Window:
        """The window of the same size just before this one."""
        size = self.end_ms - self.start_ms
        return Window(self.start_ms - size, self.start_ms)


def due_windows(
    last_end_ms: int | None, now_ms: int, window_ms: int, delay_ms: int, max_catchup: int
) -> tuple[list[Window], int]:
    """The closed windows to evaluate now, oldest first, and how many were skipped.

    A window is closed once ``now - delay`` has passed its end. Ends are multiples of
    ``window_ms``; the first run evaluates only the latest closed window; a later run
    continues from ``last_end_ms`` (the end of the last window handled) so consecutive runs
    never leave a gap or overlap (after a change of window size, the first window starts at
    ``last_end_ms``). More than ``max_catchup`` due windows: the oldest are skipped.
    """
    latest_end = (now_ms - delay_ms) // window_ms * window_ms
    first_end = latest_end if last_end_ms is None else (last_end_ms // window_ms + 1) * window_ms
    ends = range(first_end, latest_end + 1, window_ms)
    skipped = max(0, len(ends) - max_catchup)
    floor = last_end_ms if last_end_ms is not None and not skipped else 0
    return [Window(max(end - window_ms, floor), end) for end in ends[skipped:]], skipped
