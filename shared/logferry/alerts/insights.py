"""CloudWatch Logs Insights back end: start_query, poll with a deadline, stop_query on timeout.

The count is ``statistics.recordsMatched`` of a samples query (``<rule query> | sort
@timestamp desc | limit N``); top values come from one ``stats count(*) by <field>`` query
per field. Insights takes whole seconds, both ends inclusive, so ``[start, end)`` in
milliseconds is asked as ``start // 1000 .. end // 1000 - 1``.

Emulators: moto's Logs Insights ignores ``filter`` and ``stats`` (it returns every event of
the range), never reports ``statistics`` and has no ``stop_query``; the count then falls back
to the number of rows returned. Only the request / poll / result plumbing is testable there.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from logferry.alerts.query import QueryError, QueryResult
from logferry.alerts.rules import Rule
from logferry.alerts.windows import Window

FINAL_STATUSES = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")
TOP_VALUES = 5


def rows_to_dicts(results: list[list[dict[str, str]]]) -> list[dict[str, str]]:
    """get_query_results rows (lists of ``{field, value}``) as dicts, without ``@ptr``."""
    return [
        {cell["field"]: cell.get("value", "") for cell in row if cell.get("field") != "@ptr"}
        for row in results
    ]


def matched(response: dict[str, Any], rows: list[dict[str, str]]) -> int:
    """``statistics.recordsMatched``; emulators without statistics (moto): the rows returned."""
    statistics = response.get("statistics")
    if statistics and "recordsMatched" in statistics:
        return int(float(statistics["recordsMatched"]))
    return len(rows)


def sample_line(row: dict[str, str]) -> str:
    """The raw ``@message`` of a row, else its fields as JSON."""
    return row.get("@message") or json.dumps(row, sort_keys=True)


def console_link(region: str, rule: Rule, window: Window) -> str:
    """A CloudWatch console link that opens the rule's query over the window."""

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def enc(text: str) -> str:
        return quote(text, safe="").replace("%", "*")

    sources = "".join(f"~'{enc(group)}" for group in rule.log_groups)
    detail = (
        f"~(end~'{enc(iso(window.end_ms))}~start~'{enc(iso(window.start_ms))}~timeType~'ABSOLUTE"
        f"~tz~'UTC~editorString~'{enc(str(rule.query))}~source~({sources}))"
    )
    fragment = quote("?queryDetail=" + detail, safe="~()'*").replace("%", "$")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:logs-insights{fragment}"
    )


class LogsInsightsBackend:
    """Runs rule queries with a ``logs`` client; each query has ``timeout`` seconds."""

    def __init__(
        self,
        logs_client: Any,
        *,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.logs = logs_client
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep

    def query(self, rule: Rule, window: Window, query: str, limit: int) -> dict[str, Any]:
        """Start ``query`` over the window and poll until it ends; the final response."""
        started = self.logs.start_query(
            logGroupNames=list(rule.log_groups),
            startTime=window.start_ms // 1000,
            endTime=window.end_ms // 1000 - 1,
            queryString=query,
            limit=max(limit, 1),
        )
        query_id = started["queryId"]
        deadline = self.clock() + self.timeout
        while True:
            response: dict[str, Any] = self.logs.get_query_results(queryId=query_id)
            status = response.get("status", "Unknown")
            if status == "Complete":
                return response
            if status in FINAL_STATUSES:
                raise QueryError(f"rule {rule.name}: Logs Insights query {query_id} {status}")
            if self.clock() >= deadline:
                self._stop(query_id)
                raise QueryError(
                    f"rule {rule.name}: Logs Insights query {query_id} still {status} "
                    f"after {self.timeout:.0f}s; stopped"
                )
            self.sleep(self.poll_interval)

    def _stop(self, query_id: str) -> None:
        # the query may have just ended; the timeout is reported either way
        with contextlib.suppress(Exception):
            self.logs.stop_query(queryId=query_id)

    def run(self, rule: Rule, window: Window, details: bool) -> QueryResult:
        """Count matches; with ``details``, top values, samples and a console link too."""
        limit = rule.samples if details else 1
        response = self.query(rule, window, f"{rule.query} | sort @timestamp desc", limit)
        rows = rows_to_dicts(response.get("results", []))
        count = matched(response, rows)
        if not details or count == 0:
            return QueryResult(count)
        top = {name: self.top_values(rule, window, name) for name in rule.top_fields}
        region = self.logs.meta.region_name or "us-east-1"
        return QueryResult(
            count,
            top,
            [sample_line(row) for row in rows[: rule.samples]],
            console_link(region, rule, window),
        )

    def top_values(self, rule: Rule, window: Window, name: str) -> list[tuple[str, int]]:
        """The most frequent values of ``name`` among the matches."""
        query = f"{rule.query} | stats count(*) as n by {name} | sort n desc | limit {TOP_VALUES}"
        rows = rows_to_dicts(self.query(rule, window, query, TOP_VALUES).get("results", []))
        return [(row.get(name, ""), int(float(row.get("n", "0")))) for row in rows]
