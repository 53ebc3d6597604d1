"""Rule types: when a window's count fires a rule, and how the firing reads."""

from __future__ import annotations

from dataclasses import dataclass

from logferry.alerts.query import QueryResult
from logferry.alerts.rules import Rule
from logferry.alerts.windows import Window


def fires(rule: Rule, count: int, previous: int | None) -> bool:
    """Whether ``count`` matches in a window (``previous`` in the one before) fire ``rule``."""
    if rule.type == "any":
        return count >= 1
    if rule.type == "frequency":
        return count >= rule.threshold
    if rule.type == "flatline":
        return count < rule.threshold
    if rule.type == "spike":
        return count >= rule.min_count and count >= rule.ratio * (previous or 0)
    raise ValueError(f"rule {rule.name}: unknown type {rule.type!r}")


@dataclass(frozen=True)
class Firing:
    """One rule firing over one window, ready to be sent.

    ``repeats`` counts the firings held back by the realert cooldown since ``since_ms``
    (the last message sent), so the message can say "fired N times since ...".
    """

    rule: Rule
    window: Window
    result: QueryResult
    previous: int | None = None
    repeats: int = 0
    since_ms: int | None = None

    def summary(self) -> str:
        """What happened, in one line (``12 matches (threshold 10)``)."""
        count, rule = self.result.count, self.rule
        noun = "match" if count == 1 else "matches"
        if rule.type == "flatline":
            return f"{count} events, fewer than {rule.threshold} expected"
        if rule.type == "spike":
            factor = f"x{count / self.previous:.1f}" if self.previous else "from none"
            return f"{count} {noun} vs {self.previous or 0} in the previous window ({factor})"
        if rule.type == "frequency":
            return f"{count} {noun} (threshold {rule.threshold})"
        return f"{count} {noun}"
