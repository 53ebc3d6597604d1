"""Probing the deployed chain from its edges: put objects in S3, read CloudWatch Logs and search.

Used by the end-to-end tests and the demo; nothing here reaches into a function's internals.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from logferry.local.deploy import Deployment
from logferry.local.endpoints import Endpoints, boto3_client, wait_for


class Chain:
    """Clients for the edges of a deployed local pipeline."""

    def __init__(self, endpoints: Endpoints, deployment: Deployment) -> None:
        self.endpoints = endpoints
        self.deployment = deployment
        self.s3 = boto3_client("s3", endpoints)
        self.logs = boto3_client("logs", endpoints)
        self.search_url = deployment.search_url.rstrip("/")

    def put(self, key: str, body: bytes, bucket: str | None = None) -> str:
        """Put one object (the raw bucket by default) and return its ``s3://`` URI."""
        target = bucket or self.deployment.raw_bucket
        self.s3.put_object(Bucket=target, Key=key, Body=body)
        return f"s3://{target}/{key}"

    # -- search ----------------------------------------------------------------------------
    def search(self, path: str, body: dict[str, Any] | None = None, method: str = "") -> Any:
        """One JSON request to the search node (POST when ``body`` is given, else GET)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.search_url}/{path.lstrip('/')}",
            data=data,
            headers={"Content-Type": "application/json"},
            method=method or ("POST" if data is not None else "GET"),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def index_pattern(self) -> str:
        """Every index the pipeline writes: ``<prefix>-*``."""
        return f"{self.deployment.index_prefix}-*"

    @staticmethod
    def source_query(uri: str, dataset: str | None = None) -> dict[str, Any]:
        """Documents read from ``uri`` (and of ``dataset``, if given)."""
        filters: list[dict[str, Any]] = [{"term": {"log.file.path": uri}}]
        if dataset:
            filters.append({"term": {"event.dataset": dataset}})
        return {"bool": {"filter": filters}}

    def count(self, query: dict[str, Any]) -> int:
        """``_count`` of ``query`` over every pipeline index (0 while none exists)."""
        self.search(f"{self.index_pattern()}/_refresh?allow_no_indices=true", method="POST")
        path = f"{self.index_pattern()}/_count?ignore_unavailable=true&allow_no_indices=true"
        return int(self.search(path, {"query": query})["count"])

    def hits(self, query: dict[str, Any], size: int = 10) -> list[dict[str, Any]]:
        """The ``_source`` of the first ``size`` documents matching ``query``."""
        path = f"{self.index_pattern()}/_search?allow_no_indices=true"
        found = self.search(path, {"query": query, "size": size})
        return [hit["_source"] for hit in found["hits"]["hits"]]

    def wait_count(
        self, query: dict[str, Any], expected: int, timeout: float, what: str = ""
    ) -> float:
        """Wait until ``query`` counts exactly ``expected``; return the seconds waited."""
        began = time.monotonic()
        last: list[int] = []

        def reached() -> bool:
            last.append(self.count(query))
            if last[-1] > expected:
                raise AssertionError(f"{what or query}: {last[-1]} documents > {expected}")
            return last[-1] == expected

        try:
            wait_for(reached, timeout=timeout, interval=0.5, what=what or str(query))
        except TimeoutError as error:
            raise TimeoutError(f"{error}; last count {last[-1:] or 'none'}") from None
        return time.monotonic() - began

    def indices(self) -> list[dict[str, Any]]:
        """``_cat/indices`` rows of the pipeline's indices, sorted by name."""
        rows = self.search(f"_cat/indices/{self.index_pattern()}?format=json")
        return sorted(rows, key=lambda row: str(row["index"]))

    # -- CloudWatch Logs -------------------------------------------------------------------
    def log_events(
        self, group: str, pattern: str = "", stream_prefix: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every event of ``group`` matching the filter ``pattern`` (all pages)."""
        args: dict[str, Any] = {"logGroupName": group, "limit": 10_000}
        if pattern:
            args["filterPattern"] = pattern
        if stream_prefix:
            args["logStreamNamePrefix"] = stream_prefix
        while True:
            page = self.logs.filter_log_events(**args)
            yield from page.get("events", [])
            token = page.get("nextToken")
            if not token or not page.get("events"):
                return
            args["nextToken"] = token

    def count_log_events(self, group: str, marker: str) -> int:
        """Events of ``group`` whose message contains ``marker`` (checked on both sides)."""
        return sum(1 for e in self.log_events(group, f'"{marker}"') if marker in e["message"])

    def function_log(self, function: str) -> list[str]:
        """Messages in the function's own log group ``/aws/lambda/<function>``."""
        return [e["message"] for e in self.log_events(f"/aws/lambda/{function}")]

    def summaries(self, function: str) -> list[dict[str, Any]]:
        """The per-object summaries the function logged (one JSON line per object)."""
        found = []
        for message in self.function_log(function):
            try:
                line = json.loads(message)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("summary"), dict):
                found.append(line["summary"])
        return found

    def wait_summaries(
        self, function: str, uri: str, expected: int, timeout: float
    ) -> list[dict[str, Any]]:
        """Wait until ``function`` logged ``expected`` summaries for ``uri``; return them."""

        def logged() -> list[dict[str, Any]] | None:
            found = [s for s in self.summaries(function) if s["object"] == uri]
            return found if len(found) >= expected else None

        return wait_for(
            logged,
            timeout=timeout,
            what=f"{expected} summaries of {uri} in /aws/lambda/{function}",
        )
