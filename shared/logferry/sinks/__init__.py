"""Sinks: where documents go. They know nothing about formats, only :class:`Event`.

Every sink is built by the composition root (:mod:`logferry.composition`) from the function's
settings; a wrapping sink owns its inner sink and forwards that sink's failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from logferry.deadline import NO_DEADLINE, Deadline
from logferry.model import Event


@dataclass
class Failure:
    """An event a sink could not ship after its retries; the caller parks it for replay."""

    event: Event
    reason: str


@dataclass
class SinkStats:
    """Counters a sink keeps for the run summary."""

    shipped: int = 0
    failed: int = 0
    calls: int = 0
    retries: int = 0
    bytes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Sink(Protocol):
    """A batched destination. ``add`` may flush a full batch; ``flush`` sends the rest.

    ``needs_documents`` is false for a sink that reads only an event's ``message`` and time:
    when no sink of a run needs documents the pipeline builds minimal ones.
    """

    name: str
    stats: SinkStats
    needs_documents: bool
    flushes_midway: bool
    """False for a sink whose flush writes its whole output (the CSV sink): the pipeline then
    takes no checkpoint inside an object."""

    def add(self, event: Event) -> None:
        """Queue one event, sending a batch when it is full."""
        ...

    def flush(self) -> None:
        """Send everything queued."""
        ...

    def take_failures(self) -> list[Failure]:
        """Return (and forget) the events that could not be shipped since the last call."""
        ...

    def set_deadline(self, deadline: Deadline) -> None:
        """Bound every later network call by ``deadline``; past it, pending events fail
        (reason ``deadline``) instead of being sent, so the run can park them in time."""
        ...


class SinkBase:
    """Defaults every sink shares: fresh stats, and documents needed."""

    name = ""
    needs_documents = True
    flushes_midway = True

    def __init__(self) -> None:
        self.stats = SinkStats()
        self.deadline: Deadline = NO_DEADLINE

    def set_deadline(self, deadline: Deadline) -> None:
        """Keep ``deadline`` for the sink's network calls."""
        self.deadline = deadline
