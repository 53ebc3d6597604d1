"""The saved objects (data views, visualizations, saved searches, dashboards) as dicts.

Visualizations are classic aggregation-based ones (``visState``), which Kibana 7.10+ / 8.x
and OpenSearch Dashboards 1.x / 2.x all import; every reference is by name, listed in the
object's ``references``. Regenerate the shipped file with ``python -m
logferry.dashboards.objects > shared/logferry/dashboards/logferry.ndjson``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


@dataclass(frozen=True)
class Source:
    """One log source: its dashboard and the datasets (data views) it draws on."""

    key: str
    title: str
    dataset: str
    split_field: str
    top_field: str
    columns: tuple[str, ...]


SOURCES = (
    Source("alb", "ALB access logs", "aws.alb", "http.response.status_code", "url.path",
           ("url.domain", "url.path", "http.response.status_code",
            "aws.elb.backend.http.response.status_code")),
    Source("apigw", "API Gateway access logs", "aws.apigateway", "http.response.status_code",
           "url.path", ("http.request.method", "url.path", "http.response.status_code")),
    Source("cwl", "CloudWatch Logs (Firehose)", "aws.cloudwatch_logs",
           "aws.cloudwatch.log_group", "aws.cloudwatch.log_stream",
           ("aws.cloudwatch.log_group", "message")),
    Source("apache", "Apache access logs", "apache.access", "http.response.status_code",
           "url.original", ("source.ip", "url.original", "http.response.status_code")),
    Source("nginx", "nginx access logs", "nginx.access", "http.response.status_code",
           "url.original", ("source.ip", "url.original", "http.response.status_code")),
    Source("serverlog", "Server load (uptime + vmstat)", "serverlog.load", "host.name",
           "host.name", ("host.name", "system.load.1", "system.memory.free")),
)  # fmt: skip
STATUS_COUNTS = ("aws.alb", "apache.access", "nginx.access", "aws.apigateway")


def _index_pattern(prefix: str, dataset: str) -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": f"logferry-{dataset}",
        "attributes": {"title": f"{prefix}-{dataset}-*", "timeFieldName": "@timestamp"},
        "references": [],
    }


def _search_source(query: str = "") -> str:
    return json.dumps(
        {"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": INDEX_REF}
    )


def _visualization(
    obj_id: str, title: str, dataset: str, vis_type: str, aggs: list[dict[str, Any]]
) -> dict[str, Any]:
    params: dict[str, Any] = {"type": vis_type, "addTooltip": True, "addLegend": True}
    if vis_type == "table":
        params = {"type": "table", "perPage": 10, "showTotal": False}
    state = {"title": title, "type": vis_type, "params": params, "aggs": aggs}
    return {
        "type": "visualization",
        "id": obj_id,
        "attributes": {
            "title": title,
            "visState": json.dumps(state),
            "uiStateJSON": "{}",
            "description": "",
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source()},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": f"logferry-{dataset}"}],
    }


def _count(n: str = "1") -> dict[str, Any]:
    return {"id": n, "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _over_time(schema: str = "segment") -> dict[str, Any]:
    return {"id": "2", "enabled": True, "type": "date_histogram", "schema": schema,
            "params": {"field": "@timestamp", "interval": "auto", "min_doc_count": 1}}  # fmt: skip


def _terms(n: str, field: str, schema: str, size: int) -> dict[str, Any]:
    return {"id": n, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1"}}  # fmt: skip


def _source_objects(source: Source) -> list[dict[str, Any]]:
    key = f"logferry-{source.key}"
    over_time = _visualization(
        f"{key}-over-time", f"{source.title}: events over time by {source.split_field}",
        source.dataset, "histogram",
        [_count(), _over_time(), _terms("3", source.split_field, "group", 8)],
    )  # fmt: skip
    top = _visualization(
        f"{key}-top", f"{source.title}: top {source.top_field}", source.dataset, "table",
        [_count(), _terms("2", source.top_field, "bucket", 20)],
    )  # fmt: skip
    search = {
        "type": "search",
        "id": f"{key}-events",
        "attributes": {
            "title": f"{source.title}: events",
            "columns": list(source.columns),
            "sort": [["@timestamp", "desc"]],
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source()},
        },
        "references": [
            {"name": INDEX_REF, "type": "index-pattern", "id": f"logferry-{source.dataset}"}
        ],
    }
    panels = [(over_time, 0, 0, 48, 15), (top, 0, 15, 24, 15), (search, 24, 15, 24, 15)]
    dashboard = {
        "type": "dashboard",
        "id": f"{key}-dashboard",
        "attributes": {
            "title": f"logferry: {source.title}",
            "description": f"Documents of event.dataset {source.dataset}",
            "panelsJSON": json.dumps(
                [
                    {
                        "panelIndex": str(n),
                        "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(n)},
                        "version": "7.10.0",
                        "panelRefName": f"panel_{n}",
                        "embeddableConfig": {},
                    }
                    for n, (_, x, y, w, h) in enumerate(panels)
                ]
            ),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-24h",
            "timeTo": "now",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps(
                    {"query": {"query": "", "language": "kuery"}, "filter": []}
                )
            },
        },
        "references": [
            {"name": f"panel_{n}", "type": obj["type"], "id": obj["id"]}
            for n, (obj, *_rest) in enumerate(panels)
        ],
    }
    return [over_time, top, search, dashboard]


def saved_objects(prefix: str = "logferry") -> list[dict[str, Any]]:
    """Data views first (every dataset and its status counts), then each source's objects."""
    datasets = [s.dataset for s in SOURCES] + [f"{d}.status_counts" for d in STATUS_COUNTS]
    objects = [_index_pattern(prefix, d) for d in datasets]
    for source in SOURCES:
        objects += _source_objects(source)
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    """One JSON object per line, keys sorted (stable diffs)."""
    return "".join(json.dumps(obj, sort_keys=True) + "\n" for obj in objects)


if __name__ == "__main__":
    sys.stdout.write(to_ndjson(saved_objects(sys.argv[1] if len(sys.argv) > 1 else "logferry")))
