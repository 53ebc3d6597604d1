"""A rule that fails visibly: the state of a failing rule and its rate-limited notices.

A rule whose run raises (a query the back end refuses, a missing index or permission, a back
end that is not configured) is *failing* from the first such run until one succeeds. Its
state (:class:`~logferry.alerts.state.RuleState`) keeps when that began, the last error and
when the last notice went out: a "failing since" notice is due at the first failure and
then at most once per ``every_ms``; a run that works again clears the failure and, if a
notice about it was delivered, is due a recovery notice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from logferry.alerts.state import RuleState

ERROR_CHARS = 500


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def failed(state: RuleState, now_ms: int, error: str, every_ms: int) -> tuple[RuleState, bool]:
    """The state after a failed run at ``now_ms``, and whether a notice is due now."""
    since = state.failing_since_ms if state.failing_since_ms is not None else now_ms
    last = state.failure_noticed_ms
    due = last is None or now_ms - last >= every_ms
    return replace(state, failing_since_ms=since, last_error=error[:ERROR_CHARS]), due


def noticed(state: RuleState, now_ms: int) -> RuleState:
    """The state once a failure notice was delivered (or deliberately not posted)."""
    return replace(state, failure_noticed_ms=now_ms)


def recovered(state: RuleState) -> tuple[RuleState, bool]:
    """The state after a run that worked, and whether a recovery notice is due (a failure
    notice went out earlier)."""
    if state.failing_since_ms is None:
        return state, False
    due = state.failure_noticed_ms is not None
    return replace(state, failing_since_ms=None, failure_noticed_ms=None, last_error=None), due


def failing_text(rule_name: str, state: RuleState) -> str:
    """``rule X failing since <time>: <error>``."""
    since = _time(state.failing_since_ms) if state.failing_since_ms is not None else "now"
    return f"rule {rule_name} failing since {since}: {state.last_error}"


def recovered_text(rule_name: str, failing_since_ms: int, now_ms: int) -> str:
    """``rule X works again (failing since <time>)``."""
    return (
        f"rule {rule_name} works again at {_time(now_ms)} (failing since {_time(failing_since_ms)})"
    )
