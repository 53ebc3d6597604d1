"""CloudWatch metrics per shipped object, as Embedded Metric Format lines (Powertools).

The runtime calls :func:`publish_summary` once per object; Powertools prints one EMF JSON
line to stdout, which Lambda sends to CloudWatch Logs and CloudWatch turns into metrics in
the ``logferry`` namespace (no PutMetricData calls, nothing to batch or retry).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logferry.pipeline import Summary

NAMESPACE = "logferry"


def service_name(env: Mapping[str, str] | None = None) -> str:
    """The ``service`` dimension: Powertools' service name, else the function name."""
    e = os.environ if env is None else env
    return e.get("POWERTOOLS_SERVICE_NAME") or e.get("AWS_LAMBDA_FUNCTION_NAME") or "logferry"


def summary_metrics(summary: Summary, now_ms: int) -> list[tuple[str, MetricUnit, float]]:
    """The metrics of one object: ``(name, unit, value)``.

    ``LagMs`` is the time from the object's LastModified to the end of its shipping; it is
    left out when the object's time is unknown or nothing was shipped.
    """
    shipped = sum(summary.shipped.values())
    values: list[tuple[str, MetricUnit, float]] = [
        ("RecordsIn", MetricUnit.Count, summary.records),
        ("Documents", MetricUnit.Count, summary.documents),
        ("Shipped", MetricUnit.Count, shipped),
        ("Failed", MetricUnit.Count, sum(summary.failed.values())),
        ("Parked", MetricUnit.Count, summary.parked),
        ("ParseErrors", MetricUnit.Count, summary.parse_errors),
        ("Bytes", MetricUnit.Bytes, summary.bytes),
        ("ObjectErrors", MetricUnit.Count, 1 if summary.error else 0),
    ]
    if summary.object_time_ms is not None and shipped:
        values.append(("LagMs", MetricUnit.Milliseconds, max(0, now_ms - summary.object_time_ms)))
    return values


def publish_summary(
    summary: Summary,
    *,
    service: str | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Emit one EMF line with :func:`summary_metrics`, dimensions ``service`` and ``format``."""
    metrics = Metrics(namespace=NAMESPACE, service=service or service_name())
    metrics.add_dimension(name="format", value=summary.format)
    for name, unit, value in summary_metrics(summary, int(clock() * 1000)):
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.flush_metrics()
