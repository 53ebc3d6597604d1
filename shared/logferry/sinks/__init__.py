"""Sinks: where documents go. They know nothing about formats, only :class:`Event`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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

    A sink that reads only an event's ``message`` and time (never its document) says so with
    a class attribute ``needs_documents = False``; see :func:`wants_documents`.
    """

    name: str
    stats: SinkStats

    def add(self, event: Event) -> None:
        """Queue one event, sending a batch when it is full."""
        ...

    def flush(self) -> None:
        """Send everything queued."""
        ...

    def take_failures(self) -> list[Failure]:
        """Return (and forget) the events that could not be shipped since the last call."""
        ...


def wants_documents(sink: Sink) -> bool:
    """Whether ``sink`` reads events' documents (``needs_documents``, default True)."""
    return bool(getattr(sink, "needs_documents", True))
