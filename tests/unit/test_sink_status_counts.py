"""Per-minute status counts: exact across continuations, idempotent on redelivery."""

from __future__ import annotations

from collections import Counter
from typing import Any

from logferry.model import Event, ObjectRef
from logferry.sinks import Failure, SinkBase, SinkStats
from logferry.sinks.status_counts import StatusCounts

REF = ObjectRef("raw", "nginx/access.log.gz", etag="e1")


class Index(SinkBase):
    """Documents by id, as a search engine keeps them."""

    name = "search"

    def __init__(self) -> None:
        self.stats = SinkStats()
        self.docs: dict[str, dict[str, Any]] = {}

    def add(self, event: Event) -> None:
        self.docs[event.id] = event.document

    def flush(self) -> None:
        return None

    def take_failures(self) -> list[Failure]:
        return []


def event(offset: int, minute: int, status: int) -> Event:
    doc = {
        "log": {"offset": offset},
        "event": {"dataset": "nginx.access"},
        "http": {"response": {"status_code": status}},
    }
    return Event(f"id{offset}", minute * 60_000 + offset % 60_000, doc, "line")


LINES = [event(i * 100, i // 40, 200 if i % 3 else 404) for i in range(200)]


def run(index: Index, events: list[Event]) -> None:
    counts = StatusCounts(index, REF)
    for e in events:
        counts.add(e)
    counts.flush()


def totals(index: Index) -> Counter[tuple[int, int]]:
    out: Counter[tuple[int, int]] = Counter()
    for doc in index.docs.values():
        status = doc["http"]["response"]["status_code"]
        out[(doc["status_counts"]["minute"], status)] += doc["status_counts"]["count"]
    return out


def test_counts_of_continued_runs_add_up_to_one_run() -> None:
    whole, split = Index(), Index()
    run(whole, LINES)
    run(split, LINES[:77])
    run(split, LINES[77:150])
    run(split, LINES[150:])
    assert totals(split) == totals(whole)
    assert sum(totals(whole).values()) == len(LINES)
    assert {d["status_counts"]["from_offset"] for d in split.docs.values()} == {0, 7700, 15000}


def test_a_redelivered_run_overwrites_its_own_counts() -> None:
    index = Index()
    run(index, LINES[:77])
    run(index, LINES[77:])
    before = dict(index.docs)
    run(index, LINES[77:])
    run(index, LINES[:77])
    assert index.docs == before


def test_no_status_and_status_zero_are_counted_apart() -> None:
    index = Index()
    unknown = Event("u", 60_000, {"log": {"offset": 1}, "event": {"dataset": "alb"}}, "line")
    run(index, [unknown, event(2, 1, 0), event(3, 1, 0)])
    counts = {
        doc.get("http", {}).get("response", {}).get("status_code"): doc["status_counts"]["count"]
        for doc in index.docs.values()
    }
    assert counts == {None: 1, 0: 2}
