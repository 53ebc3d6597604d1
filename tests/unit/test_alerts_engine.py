"""Alert engine: every rule type, windows across runs, realert cooldown, repeats, Slack failures."""

from __future__ import annotations

from dataclasses import dataclass, field

from logferry.alerts.engine import run, run_rule
from logferry.alerts.evaluate import Firing
from logferry.alerts.query import QueryError, QueryResult
from logferry.alerts.rules import Rule
from logferry.alerts.state import MemoryStateStore, RuleState
from logferry.alerts.windows import Window

MIN = 60_000
W = 5 * MIN


@dataclass
class FakeBackend:
    """Counts per window start (in windows of W); every call recorded."""

    counts: dict[int, int] = field(default_factory=dict)
    calls: list[tuple[int, bool]] = field(default_factory=list)
    fail: bool = False

    def run(self, rule: Rule, window: Window, details: bool) -> QueryResult:
        self.calls.append((window.start_ms // W, details))
        if self.fail:
            raise QueryError(f"rule {rule.name}: boom")
        count = self.counts.get(window.start_ms // W, 0)
        if not details:
            return QueryResult(count)
        return QueryResult(count, {"status": [("502", count)]}, ["GET /x 502"], "https://link")


@dataclass
class FakeNotifier:
    """Records firings; ``outcomes`` scripts the answers (True once exhausted)."""

    outcomes: list[bool] = field(default_factory=list)
    sent: list[Firing] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def send(self, firing: Firing) -> bool:
        ok = self.outcomes.pop(0) if self.outcomes else True
        if ok:
            self.sent.append(firing)
        return ok

    def notify(self, rule: Rule, text: str) -> bool:
        ok = self.outcomes.pop(0) if self.outcomes else True
        if ok:
            self.notices.append(text)
        return ok


def rule(**kw: object) -> Rule:
    options: dict[str, object] = {
        "name": "r", "backend": "fake", "query": "q", "window_ms": W, "delay_ms": 0,
        "realert_ms": 0,
    }  # fmt: skip
    options.update(kw)
    return Rule(**options)  # type: ignore[arg-type]


def at(windows: int) -> int:
    """The time just after window number ``windows`` ended."""
    return windows * W + 1_000


def test_any_fires_once_per_window_with_details() -> None:
    backend, notifier, store = FakeBackend({9: 2}), FakeNotifier(), MemoryStateStore()
    summary = run_rule(rule(type="any"), backend, store, notifier, at(10))
    assert (summary.fired, summary.sent) == (1, 1)
    firing = notifier.sent[0]
    assert firing.window == Window(9 * W, 10 * W) and firing.result.top["status"] == [("502", 2)]
    assert backend.calls == [(9, False), (9, True)]
    assert store.load("r") == RuleState(last_end_ms=10 * W, last_sent_ms=10 * W)


def test_frequency_threshold() -> None:
    backend = FakeBackend({1: 4, 2: 5})
    notifier = FakeNotifier()
    store = MemoryStateStore()
    store.save("r", RuleState(last_end_ms=W))
    run_rule(rule(type="frequency", threshold=5), backend, store, notifier, at(3))
    assert [f.window.start_ms // W for f in notifier.sent] == [2]
    assert notifier.sent[0].summary() == "5 matches (threshold 5)"


def test_flatline_fires_when_source_goes_quiet_without_detail_query() -> None:
    backend, notifier = FakeBackend({0: 9, 1: 0}), FakeNotifier()
    store = MemoryStateStore()
    store.save("r", RuleState(last_end_ms=0))
    run_rule(rule(type="flatline", threshold=1), backend, store, notifier, at(2))
    assert [f.window.start_ms // W for f in notifier.sent] == [1]
    assert all(not details for _, details in backend.calls)
    assert "fewer than 1 expected" in notifier.sent[0].summary()


def test_spike_compares_with_previous_window() -> None:
    backend = FakeBackend({0: 5, 1: 14, 2: 15, 3: 60, 4: 8})
    notifier, store = FakeNotifier(), MemoryStateStore()
    store.save("r", RuleState(last_end_ms=W))
    run_rule(rule(type="spike", ratio=3.0, min_count=10), backend, store, notifier, at(5))
    # window 1: 14 < 3*5; window 2: 15 < 3*14; window 3: 60 >= 3*15; window 4: 8 < min_count
    assert [(f.window.start_ms // W, f.previous) for f in notifier.sent] == [(3, 15)]
    assert "x4.0" in notifier.sent[0].summary()


def test_catch_up_after_missed_runs_evaluates_each_window_once() -> None:
    backend, notifier, store = FakeBackend({3: 1, 5: 1}), FakeNotifier(), MemoryStateStore()
    store.save("r", RuleState(last_end_ms=2 * W))
    summary = run_rule(rule(), backend, store, notifier, at(7))
    assert summary.windows == 5
    assert [f.window.start_ms // W for f in notifier.sent] == [3, 5]
    assert store.load("r").last_end_ms == 7 * W
    second = run_rule(rule(), backend, store, notifier, at(7) + MIN)
    assert second.windows == 0 and len(notifier.sent) == 2


def test_realert_cooldown_then_repeats_are_aggregated() -> None:
    backend, notifier, store = (
        FakeBackend(dict.fromkeys(range(10), 3)),
        FakeNotifier(),
        MemoryStateStore(),
    )
    r = rule(realert_ms=15 * MIN)
    store.save("r", RuleState(last_end_ms=0))
    for n in range(1, 8):  # one run per window
        run_rule(r, backend, store, notifier, at(n))
    sent = [(f.window.end_ms // W, f.repeats, f.since_ms) for f in notifier.sent]
    # sent at end 1; ends 2,3 held back (within 15 min); sent at 4 saying "3 times since end 1"
    assert sent == [(1, 0, None), (4, 2, W), (7, 2, 4 * W)]
    assert store.load("r").suppressed == 0


def test_slack_retry_next_run_keeps_window_and_state() -> None:
    backend, store = FakeBackend({4: 7}), MemoryStateStore()
    store.save("r", RuleState(last_end_ms=4 * W))
    notifier = FakeNotifier(outcomes=[False])
    failed = run_rule(rule(), backend, store, notifier, at(5))
    assert (failed.fired, failed.sent, failed.unsent) == (1, 0, 1)
    assert store.load("r") == RuleState(last_end_ms=4 * W)  # untouched: nothing was sent
    later = run_rule(rule(), backend, store, notifier, at(6))
    assert later.sent == 1 and [f.window.start_ms // W for f in notifier.sent] == [4]
    assert store.load("r").last_end_ms == 6 * W


def test_failed_send_stops_rule_before_later_windows() -> None:
    backend, store = FakeBackend({1: 1, 2: 1}), MemoryStateStore()
    store.save("r", RuleState(last_end_ms=W, last_sent_ms=0))
    notifier = FakeNotifier(outcomes=[False])
    run_rule(rule(), backend, store, notifier, at(3))
    assert backend.calls == [(1, False), (1, True)] and store.load("r").last_end_ms == W


def test_run_isolates_query_errors_and_unknown_backends() -> None:
    good, bad = FakeBackend({0: 1}), FakeBackend(fail=True)
    store, notifier = MemoryStateStore(), FakeNotifier()
    rules = [rule(name="ok"), rule(name="broken", backend="bad"), rule(name="nowhere", backend="x")]
    summary = run(rules, {"fake": good, "bad": bad}, store, notifier, at(1))
    assert summary.sent == 1 and set(summary.errors) == {"broken", "nowhere"}
    assert "boom" in summary.errors["broken"] and store.load("broken").last_end_ms is None
    assert len(notifier.notices) == 2 and summary.notices == 2
