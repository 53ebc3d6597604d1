"""One alert run: every rule over its due windows, Slack for firings, state saved as sent.

A rule whose run fails is logged at ERROR, named in the summary's ``errors`` and, rate
limited by its state (:mod:`logferry.alerts.failures`), posted as "rule X failing since ...".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

from logferry.alerts import failures
from logferry.alerts.evaluate import Firing, fires
from logferry.alerts.query import Backend
from logferry.alerts.rules import Rule
from logferry.alerts.state import RuleState, StateStore
from logferry.alerts.windows import Window, due_windows

log = logging.getLogger(__name__)
NOTICE_EVERY_MS = 6 * 3_600_000
"""Default least time between two "rule failing" notices of one rule."""


class Notifier(Protocol):
    """Delivers a firing: True when sent; False when it could not (the window is retried
    next run); None when it posts nothing on purpose (no webhook yet: the window is handled)."""

    def send(self, firing: Firing) -> bool | None: ...

    def notify(self, rule: Rule, text: str) -> bool | None:
        """Deliver a notice about ``rule`` itself (failing, working again); same answers."""
        ...


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
    notices: int = 0
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
    return _run_rule(rule, backend, store, notifier, now_ms)[0]


def _run_rule(
    rule: Rule, backend: Backend, store: StateStore, notifier: Notifier, now_ms: int
) -> tuple[RunSummary, RuleState]:
    """:func:`run_rule`, and the rule's state as saved at the end."""
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
        state = replace(state, last_end_ms=window.end_ms, last_sent_ms=window.end_ms, suppressed=0)
        store.save(rule.name, state)
        saved = state
    if state != saved:
        store.save(rule.name, state)
    return summary, state


def _rule_failed(
    rule: Rule, error: str, store: StateStore, notifier: Notifier, now_ms: int, every_ms: int
) -> int:
    """Log a failed run at ERROR, record it in the rule's state and post the notice if one
    is due; the number of notices delivered (0 or 1)."""
    log.error("rule %s: run failed: %s", rule.name, error)
    delivered: bool | None = None
    try:
        state, due = failures.failed(store.load(rule.name), now_ms, error, every_ms)
        if due:
            delivered = notifier.notify(rule, failures.failing_text(rule.name, state))
            if delivered is not False:  # None: nothing to post to, the notice is handled
                state = failures.noticed(state, now_ms)
        store.save(rule.name, state)
    except Exception as exc:  # the state store itself fails: the error is still reported
        log.error("rule %s: could not record the failure: %s: %s", rule.name,
                  type(exc).__name__, exc)  # fmt: skip
        return 0
    return 1 if delivered else 0


def _rule_worked(
    rule: Rule, state: RuleState, store: StateStore, notifier: Notifier, now_ms: int
) -> int:
    """Clear a failure after a run that worked; post the recovery notice if one is due.
    The number of notices delivered (0 or 1)."""
    since = state.failing_since_ms
    state, due = failures.recovered(state)
    if since is None:
        return 0
    delivered = (
        notifier.notify(rule, failures.recovered_text(rule.name, since, now_ms)) if due else None
    )
    store.save(rule.name, state)
    return 1 if delivered else 0


def run(
    rules: list[Rule],
    backends: Mapping[str, Backend],
    store: StateStore,
    notifier: Notifier,
    now_ms: int,
    *,
    notice_every_ms: int = NOTICE_EVERY_MS,
) -> RunSummary:
    """Run every rule; one rule's failure does not stop the others.

    A failed rule is logged at ERROR and named in ``errors``; its windows are retried next
    run; "rule X failing since ..." is posted at its first failure and then at most once per
    ``notice_every_ms``, and a notice when it works again.
    """
    total = RunSummary()
    for rule in rules:
        backend = backends.get(rule.backend)
        if backend is None:
            error = f"back end {rule.backend} is not configured"
        else:
            try:
                one, state = _run_rule(rule, backend, store, notifier, now_ms)
            except Exception as exc:  # a failed query: the rule's windows are retried next run
                log.debug("rule %s: run failed", rule.name, exc_info=True)
                error = f"{type(exc).__name__}: {exc}"
            else:
                one.notices += _rule_worked(rule, state, store, notifier, now_ms)
                for count in fields(RunSummary):
                    if count.name != "errors":
                        value = getattr(total, count.name) + getattr(one, count.name)
                        setattr(total, count.name, value)
                continue
        total.errors[rule.name] = error
        total.notices += _rule_failed(rule, error, store, notifier, now_ms, notice_every_ms)
    return total
