"""One alert run: every rule over its due windows, Slack for firings, state saved as sent."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

from logferry.alerts.evaluate import Firing, fires
from logferry.alerts.query import Backend
from logferry.alerts.rules import Rule
from logferry.alerts.state import RuleState, StateStore
from logferry.alerts.windows import Window, due_windows

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Delivers a firing: True when sent; False when it could not (the window is retried
    next run); None when it posts nothing on purpose (no webhook yet: the window is handled)."""

    def send(self, firing: Firing) -> bool | None: ...


@dataclass
class RunSummary:
    """Counts of one run, and the errors by rule name."""

    windows: int = 0
    fired: int = 0
    sent: int = 0
    suppressed: int = 0
    unsent: int = 0
    unposted: int = 0
    skipped_windows: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _evaluate(rule: Rule, backend: Backend, window: Window) -> Firing | None:
    """The firing of ``rule`` over ``window`` (details fetched only when it fires)."""
    result = backend.run(rule, window, details=False)
    previous = None
    if rule.type == "spike":
        previous = backend.run(rule, window.previous, details=False).count
    if not fires(rule, result.count, previous):
        return None
    if rule.type != "flatline" and result.count:
        result = backend.run(rule, window, details=True)
    return Firing(rule, window, result, previous)


def run_rule(
    rule: Rule, backend: Backend, store: StateStore, notifier: Notifier, now_ms: int
) -> RunSummary:
    """Evaluate one rule's due windows in order; stop at the first one Slack did not take.

    Cooldown (``realert``) is measured on window ends, so a catch-up run decides exactly as
    the missed runs would have. The state is saved after every message and at the end; a
    window whose message was not sent is not marked handled, so the next run retries it.
    """
    summary = RunSummary()
    state = store.load(rule.name)
    windows, summary.skipped_windows = due_windows(
        state.last_end_ms, now_ms, rule.window_ms, rule.delay_ms, rule.max_catchup
    )
    if summary.skipped_windows:
        log.warning("rule %s: skipped %d windows older than max_catchup", rule.name,
                    summary.skipped_windows)  # fmt: skip
    saved = state
    for window in windows:
        firing = _evaluate(rule, backend, window)
        summary.windows += 1
        if firing is None:
            state = replace(state, last_end_ms=window.end_ms)
            continue
        summary.fired += 1
        last_sent = state.last_sent_ms
        if last_sent is not None and window.end_ms - last_sent < rule.realert_ms:
            summary.suppressed += 1
            state = replace(state, last_end_ms=window.end_ms, suppressed=state.suppressed + 1)
            continue
        firing = replace(firing, repeats=state.suppressed, since_ms=last_sent)
        delivered = notifier.send(firing)
        if delivered is None:
            summary.unposted += 1
            state = replace(state, last_end_ms=window.end_ms)
            continue
        if not delivered:
            summary.unsent += 1
            break
        summary.sent += 1
        state = RuleState(last_end_ms=window.end_ms, last_sent_ms=window.end_ms)
        store.save(rule.name, state)
        saved = state
    if state != saved:
        store.save(rule.name, state)
    return summary


def run(
    rules: list[Rule],
    backends: Mapping[str, Backend],
    store: StateStore,
    notifier: Notifier,
    now_ms: int,
) -> RunSummary:
    """Run every rule; one rule's query failure is logged and does not stop the others."""
    total = RunSummary()
    for rule in rules:
        try:
            backend = backends[rule.backend]
        except KeyError:
            total.errors[rule.name] = f"back end {rule.backend} is not configured"
            continue
        try:
            one = run_rule(rule, backend, store, notifier, now_ms)
        except Exception as exc:  # a failed query: the rule's windows are retried next run
            log.exception("rule %s: run failed", rule.name)
            total.errors[rule.name] = f"{type(exc).__name__}: {exc}"
            continue
        for count in fields(RunSummary):
            if count.name != "errors":
                setattr(total, count.name, getattr(total, count.name) + getattr(one, count.name))
    return total
