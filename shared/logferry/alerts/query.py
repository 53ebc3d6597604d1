"""What a query back end answers for one rule and window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from logferry.alerts.rules import Rule
from logferry.alerts.windows import Window


@dataclass(frozen=True)
class QueryResult:
    """Matches in a window: their count, top values per field, a few sample lines, a link."""

    count: int
    top: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    link: str | None = None


class QueryError(RuntimeError):
    """A query that failed, was cancelled or ran past its deadline; names the rule."""


class Backend(Protocol):
    """Runs a rule's query over a window."""

    def run(self, rule: Rule, window: Window, details: bool) -> QueryResult:
        """Count the matches; with ``details``, also top values, samples and a link."""
        ...
