"""Search back end: the request body (window filter, aggs) and the response handling."""

from __future__ import annotations

from typing import Any

import opensearchpy

from logferry.alerts.rules import Rule
from logferry.alerts.search import SearchBackend, discover_link, sample_of, search_body
from logferry.alerts.windows import Window

RULE = Rule(name="alb-5xx", backend="search", query="http.response.status_code:[500 TO 599]",
            index="logferry-aws.alb-*", top_fields=("url.path", "http.response.status_code"),
            samples=2)  # fmt: skip
WINDOW = Window(1_764_000_000_000, 1_764_000_300_000)
ANSWER = {
    "took": 3, "timed_out": False,
    "hits": {"total": {"value": 17, "relation": "eq"}, "max_score": None, "hits": [
        {"_index": "logferry-aws.alb-2025.11.24", "_id": "a", "_source": {"message": "h2 ... 502"}},
        {"_index": "logferry-aws.alb-2025.11.24", "_id": "b", "_source": {"url": {"path": "/"}}},
    ]},
    "aggregations": {
        "top_0": {"buckets": [{"key": "/api/orders", "doc_count": 15},
                              {"key": "/", "doc_count": 2}]},
        "top_1": {"buckets": [{"key": 502, "doc_count": 16}, {"key": 503, "doc_count": 1}]},
    },
}  # fmt: skip


class FakeOpenSearch(opensearchpy.OpenSearch):
    """Records the search call (OpenSearch style: body + params)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def search(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        assert "index" in kwargs and "body" in kwargs
        return ANSWER


class FakeElasticsearch:
    """Records the search call (Elasticsearch 8 style: keywords) and answers with .body."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def search(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return type("Response", (), {"body": ANSWER})()


def test_body_filters_on_window_and_asks_aggs() -> None:
    body = search_body(RULE, WINDOW, details=True)
    clauses = body["query"]["bool"]["filter"]
    assert clauses[0] == {"query_string": {"query": RULE.query, "default_field": "message"}}
    assert clauses[1]["range"]["@timestamp"] == {
        "gte": WINDOW.start_ms, "lt": WINDOW.end_ms, "format": "epoch_millis"
    }  # fmt: skip
    assert body["aggs"]["top_1"] == {"terms": {"field": "http.response.status_code", "size": 5}}
    assert body["track_total_hits"] is True and body["size"] == 2
    assert "aggs" not in search_body(RULE, WINDOW, details=False)


def test_a_sample_without_message_leads_with_the_lines_gist() -> None:
    source = {
        "log": {"file": {"path": "s3://b/k"}, "offset": 7},
        "cloud": {"provider": "aws"},
        "event": {"dataset": "aws.alb", "duration": 5},
        "aws": {"elb": {"type": "h2", "target_port": ["10.0.0.1:80"]}},
        "http": {"response": {"status_code": 502}, "request": {"method": "GET"}},
        "@timestamp": "2026-01-01T00:00:00.000Z",
    }
    assert sample_of({"_source": source}) == (
        '@timestamp="2026-01-01T00:00:00.000Z" http.request.method="GET" '
        'http.response.status_code=502 event.duration=5 aws.elb.target_port=["10.0.0.1:80"] '
        'aws.elb.type="h2"'
    )


def test_opensearch_result_handling() -> None:
    client = FakeOpenSearch()
    result = SearchBackend(client, "http://kibana:5601").run(RULE, WINDOW, details=True)
    assert result.count == 17
    assert result.top["http.response.status_code"] == [("502", 16), ("503", 1)]
    assert result.samples == ["h2 ... 502", 'url.path="/"']
    assert result.link and result.link.startswith("http://kibana:5601/app/discover#/?_g=")
    assert client.calls[0]["params"]["ignore_unavailable"] == "false"
    assert client.calls[0]["params"]["allow_no_indices"] == "true"


def test_elasticsearch_keywords_and_count_only() -> None:
    client = FakeElasticsearch()
    result = SearchBackend(client).run(RULE, WINDOW, details=False)
    assert result.count == 17 and result.link is None
    assert client.calls[0]["index"] == "logferry-aws.alb-*" and "query" in client.calls[0]


def test_discover_link_escapes_quotes() -> None:
    rule = Rule(name="q", backend="search", query="message:'boom'", index="i")
    assert "query:'message:!'boom!''" in discover_link("http://k/", rule, WINDOW)
