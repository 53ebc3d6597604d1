"""Elasticsearch / OpenSearch back end: one search per window (count, terms aggs, samples)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import opensearchpy

from logferry.alerts.query import QueryResult
from logferry.alerts.rules import Rule
from logferry.alerts.windows import Window

TOP_VALUES = 5


def run_search(client: Any, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """``search`` on either client (OpenSearch takes ``body``, Elasticsearch 8 keywords).

    A pattern that matches no index yet counts 0 (``allow_no_indices``: daily indices of a
    source not shipped yet); a concrete index that does not exist is an error
    (``index_not_found_exception``: a wrong name must fail the rule, not count 0 forever).
    """
    if isinstance(client, opensearchpy.OpenSearch):  # query parameters go as strings
        params = {"ignore_unavailable": "false", "allow_no_indices": "true"}
        response: Any = client.search(index=index, body=body, params=params)
    else:
        options = {"ignore_unavailable": False, "allow_no_indices": True}
        response = client.search(index=index, **options, **body)
    return dict(response.body if hasattr(response, "body") else response)


def rule_query(rule: Rule, window: Window) -> dict[str, Any]:
    """The rule's query restricted to the window on ``time_field``."""
    match: dict[str, Any] = (
        rule.query
        if isinstance(rule.query, dict)
        else {"query_string": {"query": rule.query, "default_field": "message"}}
    )
    time_range = {"gte": window.start_ms, "lt": window.end_ms, "format": "epoch_millis"}
    return {"bool": {"filter": [match, {"range": {rule.time_field: time_range}}]}}


def search_body(rule: Rule, window: Window, details: bool) -> dict[str, Any]:
    """Count (exact), sample hits newest first, and a terms aggregation per top field."""
    body: dict[str, Any] = {
        "query": rule_query(rule, window),
        "track_total_hits": True,
        "size": rule.samples if details else 0,
    }
    if details:
        body["sort"] = [{rule.time_field: {"order": "desc"}}]
        if rule.top_fields:
            body["aggs"] = {
                f"top_{n}": {"terms": {"field": name, "size": TOP_VALUES}}
                for n, name in enumerate(rule.top_fields)
            }
    return body


SAMPLE_FIRST = (
    "@timestamp",
    "source.ip",
    "http.request.method",
    "url.original",
    "http.response.status_code",
    "event.duration",
    "user_agent.original",
)
"""Fields a sample without ``message`` starts with (an access log line's gist)."""
SAMPLE_SKIPPED = ("log.", "cloud.", "event.dataset", "aws.elb.log_file.")
"""Fields that are the same for every line of an object: left out of samples."""


def sample_of(hit: dict[str, Any]) -> str:
    """A hit's raw ``message``; else (a parsed line shipped without it) its fields as
    ``name=value`` pairs, :data:`SAMPLE_FIRST` first, per-object metadata left out."""
    source = hit.get("_source", {})
    message = source.get("message")
    if isinstance(message, str):
        return message
    fields = dict(_leaves(source))
    first = [name for name in SAMPLE_FIRST if name in fields]
    rest = sorted(n for n in fields if n not in first and not n.startswith(SAMPLE_SKIPPED))
    return " ".join(
        f"{name}={json.dumps(fields[name], ensure_ascii=False)}" for name in first + rest
    )


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted name, value)`` of every non-object value under ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}{key}.")
    else:
        yield prefix[:-1], value


def discover_link(base_url: str, rule: Rule, window: Window) -> str:
    """A Kibana / OpenSearch Dashboards Discover link for the window (Lucene queries)."""

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    text = rule.query if isinstance(rule.query, str) else ""
    state = (
        f"_g=(time:(from:'{iso(window.start_ms)}',to:'{iso(window.end_ms)}'))"
        f"&_a=(query:(language:lucene,query:'{text.replace(chr(39), '!' + chr(39))}'))"
    )
    encoded = quote(state, safe="=&:(),!*/'")
    return f"{base_url.rstrip('/')}/app/discover#/?{encoded}"


class SearchBackend:
    """Runs rule queries with an Elasticsearch or OpenSearch client."""

    def __init__(self, client: Any, dashboards_url: str | None = None) -> None:
        self.client = client
        self.dashboards_url = dashboards_url

    def run(self, rule: Rule, window: Window, details: bool) -> QueryResult:
        """Count matches; with ``details``, top values, samples and a Discover link too."""
        answer = run_search(self.client, rule.index, search_body(rule, window, details))
        total = answer.get("hits", {}).get("total", 0)
        count = int(total["value"] if isinstance(total, dict) else total)
        if not details:
            return QueryResult(count)
        aggs = answer.get("aggregations", {})
        top = {
            name: [
                (str(b.get("key_as_string", b["key"])), int(b["doc_count"]))
                for b in aggs.get(f"top_{n}", {}).get("buckets", [])
            ]
            for n, name in enumerate(rule.top_fields)
        }
        hits = answer.get("hits", {}).get("hits", [])
        link = discover_link(self.dashboards_url, rule, window) if self.dashboards_url else None
        return QueryResult(count, top, [sample_of(h) for h in hits], link)
