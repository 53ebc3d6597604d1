"""ALB report: the aggregation requests and the parsing of search answers."""

from __future__ import annotations

from typing import Any

from logferry.reports.alb import (
    MISSING,
    AlbReport,
    HostPathPort,
    PageStatus,
    PageTiming,
    alb_body,
    build_report,
    parse_alb,
    parse_status_counts,
    status_counts_body,
)

SINCE, UNTIL = 1_764_000_000_000, 1_764_086_400_000
ALB_ANSWER: dict[str, Any] = {
    "hits": {"total": {"value": 130, "relation": "eq"}, "hits": []},
    "aggregations": {
        "hosts": {"buckets": [
            {"key": "shop.example.com", "doc_count": 130, "paths": {"buckets": [
                {"key": "/api/orders", "doc_count": 100, "ports": {"buckets": [
                    {"key": 8080, "doc_count": 90}, {"key": MISSING, "doc_count": 10}]}},
                {"key": "/", "doc_count": 30, "ports": {"buckets": [
                    {"key": 80, "doc_count": 30}]}},
            ]}},
        ]},
        "pages": {"buckets": [
            {"key": "/api/orders", "doc_count": 100,
             "request": {"value": 0.001}, "backend": {"value": 0.25}, "response": {"value": None},
             "elb": {"buckets": [
                 {"key": 200, "doc_count": 88, "target": {"buckets": [
                     {"key": 200, "doc_count": 88}]}},
                 {"key": 502, "doc_count": 12, "target": {"buckets": [
                     {"key": MISSING, "doc_count": 10}, {"key": 502, "doc_count": 2}]}},
             ]}},
        ]},
    },
}  # fmt: skip
COUNTS_ANSWER: dict[str, Any] = {
    "hits": {"total": {"value": 4, "relation": "eq"}, "hits": []},
    "aggregations": {"minutes": {"buckets": [
        {"key": SINCE, "key_as_string": "x", "doc_count": 3, "status": {"buckets": [
            {"key": 200, "doc_count": 2, "requests": {"value": 57.0}},
            {"key": 500, "doc_count": 1, "requests": {"value": 3.0}}]}},
        {"key": SINCE + 60_000, "doc_count": 0, "status": {"buckets": []}},
    ]}},
}  # fmt: skip


def test_alb_body_filters_dataset_and_time() -> None:
    body = alb_body(SINCE, UNTIL, 10)
    assert body["size"] == 0
    filters = body["query"]["bool"]["filter"]
    assert {"term": {"event.dataset": "aws.alb"}} in filters
    assert filters[1]["range"]["@timestamp"]["gte"] == SINCE
    pages = body["aggs"]["pages"]
    assert pages["aggs"]["backend"] == {"avg": {"field": "aws.elb.backend_processing_time.sec"}}
    target = pages["aggs"]["elb"]["aggs"]["target"]["terms"]
    assert target["field"] == "aws.elb.backend.http.response.status_code"
    assert target["missing"] == MISSING and pages["terms"]["missing"] == "-"


def test_status_counts_body_sums_counts_per_minute() -> None:
    minutes = status_counts_body(SINCE, UNTIL)["aggs"]["minutes"]
    assert minutes["date_histogram"]["fixed_interval"] == "1m"
    assert minutes["aggs"]["status"]["aggs"]["requests"] == {
        "sum": {"field": "status_counts.count"}
    }


def test_parse_answers() -> None:
    report = AlbReport(SINCE, UNTIL)
    parse_alb(ALB_ANSWER, report)
    parse_status_counts(COUNTS_ANSWER, report)
    assert report.total == 130
    assert report.by_host_path_port == [
        HostPathPort("shop.example.com", "/api/orders", 8080, 90),
        HostPathPort("shop.example.com", "/", 80, 30),
        HostPathPort("shop.example.com", "/api/orders", None, 10),
    ]
    assert PageStatus("/api/orders", 502, None, 10) in report.status_by_page
    assert report.timings == [PageTiming("/api/orders", 100, 0.001, 0.25, None)]
    assert report.per_minute == {SINCE: {200: 57, 500: 3}}


class Client:
    """Answers by index pattern (Elasticsearch-8 style keywords)."""

    def __init__(self) -> None:
        self.indices: list[str] = []

    def search(self, index: str, **_: Any) -> dict[str, Any]:
        self.indices.append(index)
        return COUNTS_ANSWER if "status_counts" in index else ALB_ANSWER


def test_build_report_queries_both_index_patterns() -> None:
    client = Client()
    report = build_report(client, "lf", SINCE, UNTIL)
    assert client.indices == ["lf-aws.alb-*", "lf-*.status_counts-*"]
    assert report.total == 130 and report.per_minute[SINCE][500] == 3
