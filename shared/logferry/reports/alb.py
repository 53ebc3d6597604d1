"""The ALB reports of seed 000 and the per-minute status counts of seed 003, from search.

Two searches (aggregations only, no hits): one over the ALB documents of
``<prefix>-aws.alb-*`` (``event.dataset: aws.alb``) for requests per host/path/port,
ELB vs target status per page and average processing times per page; one over the
``<prefix>-*.status_counts-*`` documents for requests per minute by status code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logferry.alerts.search import run_search

MISSING = -1
"""Bucket key of documents without the field (no target status: not dispatched, or Lambda)."""
TIMINGS = ("request", "backend", "response")


@dataclass(frozen=True)
class HostPathPort:
    """Requests to one host, path and target port."""

    host: str
    path: str
    port: int | None
    requests: int


@dataclass(frozen=True)
class PageStatus:
    """Requests of one page answered with an ELB status and a target status (None: none)."""

    path: str
    elb_status: int | None
    target_status: int | None
    requests: int


@dataclass(frozen=True)
class PageTiming:
    """Average request / target (backend) / response processing seconds of one page."""

    path: str
    requests: int
    request_sec: float | None
    backend_sec: float | None
    response_sec: float | None


@dataclass
class AlbReport:
    """Everything the table, HTML and PNG renderings show."""

    since_ms: int
    until_ms: int
    total: int = 0
    by_host_path_port: list[HostPathPort] = field(default_factory=list)
    status_by_page: list[PageStatus] = field(default_factory=list)
    timings: list[PageTiming] = field(default_factory=list)
    per_minute: dict[int, dict[int | None, int]] = field(default_factory=dict)


def _time_filter(since_ms: int, until_ms: int) -> dict[str, Any]:
    return {"range": {"@timestamp": {"gte": since_ms, "lt": until_ms, "format": "epoch_millis"}}}


def _terms(name: str, size: int, **sub: Any) -> dict[str, Any]:
    agg: dict[str, Any] = {"terms": {"field": name, "size": size, "missing": MISSING}}
    if name in ("url.domain", "url.path"):
        agg["terms"]["missing"] = "-"
    if sub:
        agg["aggs"] = sub
    return agg


def alb_body(since_ms: int, until_ms: int, top: int) -> dict[str, Any]:
    """The aggregations of the three seed-000 reports."""
    averages = {name: {"avg": {"field": f"aws.elb.{name}_processing_time.sec"}} for name in TIMINGS}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {
            "bool": {
                "filter": [{"term": {"event.dataset": "aws.alb"}}, _time_filter(since_ms, until_ms)]
            }
        },
        "aggs": {
            "hosts": _terms(
                "url.domain",
                top,
                paths=_terms("url.path", top, ports=_terms("destination.port", 5)),
            ),
            "pages": _terms(
                "url.path",
                top,
                elb=_terms(
                    "http.response.status_code",
                    10,
                    target=_terms("aws.elb.backend.http.response.status_code", 10),
                ),
                **averages,
            ),
        },
    }


def status_counts_body(since_ms: int, until_ms: int) -> dict[str, Any]:
    """Requests per minute by status, summed over the per-object status_counts documents."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [_time_filter(since_ms, until_ms)]}},
        "aggs": {
            "minutes": {
                "date_histogram": {"field": "@timestamp", "fixed_interval": "1m"},
                "aggs": {
                    "status": {
                        **_terms("http.response.status_code", 20),
                        "aggs": {"requests": {"sum": {"field": "status_counts.count"}}},
                    }
                },
            }
        },
    }


def _key(bucket: dict[str, Any]) -> int | None:
    key = bucket["key"]
    return None if key in (MISSING, str(MISSING)) else int(key)


def _avg(bucket: dict[str, Any], name: str) -> float | None:
    value = bucket.get(name, {}).get("value")
    return None if value is None else float(value)


def parse_alb(answer: dict[str, Any], report: AlbReport) -> None:
    """Fill the seed-000 tables of ``report`` from the ALB search answer."""
    total = answer.get("hits", {}).get("total", 0)
    report.total = int(total["value"] if isinstance(total, dict) else total)
    aggs = answer.get("aggregations", {})
    for host in aggs.get("hosts", {}).get("buckets", []):
        for path in host.get("paths", {}).get("buckets", []):
            for port in path.get("ports", {}).get("buckets", []):
                report.by_host_path_port.append(
                    HostPathPort(host["key"], path["key"], _key(port), port["doc_count"])
                )
    report.by_host_path_port.sort(key=lambda row: -row.requests)
    for page in aggs.get("pages", {}).get("buckets", []):
        for elb in page.get("elb", {}).get("buckets", []):
            for target in elb.get("target", {}).get("buckets", []):
                report.status_by_page.append(
                    PageStatus(page["key"], _key(elb), _key(target), target["doc_count"])
                )
        report.timings.append(
            PageTiming(page["key"], page["doc_count"], *(_avg(page, name) for name in TIMINGS))
        )


def parse_status_counts(answer: dict[str, Any], report: AlbReport) -> None:
    """Fill ``report.per_minute`` (minute -> status -> requests) from the counts answer."""
    for minute in answer.get("aggregations", {}).get("minutes", {}).get("buckets", []):
        counts = {
            _key(status): int(status["requests"]["value"] or 0)
            for status in minute.get("status", {}).get("buckets", [])
        }
        if counts:
            report.per_minute[int(minute["key"])] = counts


def build_report(
    client: Any, prefix: str, since_ms: int, until_ms: int, top: int = 15
) -> AlbReport:
    """Query search for the ALB report over ``[since_ms, until_ms)``."""
    report = AlbReport(since_ms, until_ms)
    parse_alb(run_search(client, f"{prefix}-aws.alb-*", alb_body(since_ms, until_ms, top)), report)
    counts = run_search(
        client, f"{prefix}-*.status_counts-*", status_counts_body(since_ms, until_ms)
    )
    parse_status_counts(counts, report)
    return report
