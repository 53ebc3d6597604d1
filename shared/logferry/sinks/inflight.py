"""A bounded number of requests in flight: the caller goes on parsing while they are sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait


class InFlight:
    """Runs jobs on up to ``limit`` threads; :meth:`submit` blocks while ``limit`` jobs are
    unfinished (backpressure), :meth:`wait` until all are done. Jobs must not raise."""

    def __init__(self, limit: int, name: str) -> None:
        if limit < 1:
            raise ValueError(f"in-flight limit {limit}: must be >= 1")
        self.limit = limit
        self._name = name
        self._slots = threading.BoundedSemaphore(limit)
        self._pool: ThreadPoolExecutor | None = None
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None], within: float | None) -> bool:
        """Start ``job`` once a slot is free; ``False`` (job not started) when none frees up
        within ``within`` seconds (``None``: wait as long as it takes)."""
        if not self._slots.acquire(timeout=within):
            return False
        try:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.limit, thread_name_prefix=self._name)
            future = self._pool.submit(job)
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)
        return True

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)
        self._slots.release()

    def wait(self) -> None:
        """Return once every submitted job has finished."""
        with self._lock:
            running = set(self._running)
        wait(running)
