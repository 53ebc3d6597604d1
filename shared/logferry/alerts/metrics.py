"""``RuleErrors``: how many rules failed in an alert run, as Embedded Metric Format lines.

Two kinds of line go to stdout (Lambda sends them to CloudWatch Logs, CloudWatch turns them
into metrics in the ``logferry`` namespace, as :mod:`logferry.metrics` does for shipping):
one per run with the ``service`` dimension alone, the count of failing rules (0 included, so
the alarm on it has data), and one per failing rule with ``service`` and ``rule`` (1).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "logferry"
"""The namespace of :mod:`logferry.metrics` (not imported: it would put the shipping
pipeline into the alert function's zip; a unit test keeps the two equal)."""
METRIC = "RuleErrors"


def service_name(env: Mapping[str, str]) -> str:
    """The ``service`` dimension: Powertools' service name, else the function name."""
    return env.get("POWERTOOLS_SERVICE_NAME") or env.get("AWS_LAMBDA_FUNCTION_NAME") or "log_alert"


def publish_rule_errors(errors: Mapping[str, str], env: Mapping[str, str]) -> None:
    """Emit the run's ``RuleErrors`` line, then one per failing rule."""
    service = service_name(env)
    total = EphemeralMetrics(namespace=NAMESPACE, service=service)
    total.add_metric(name=METRIC, unit=MetricUnit.Count, value=len(errors))
    total.flush_metrics()
    for rule_name in errors:
        one = EphemeralMetrics(namespace=NAMESPACE, service=service)
        one.add_dimension(name="rule", value=rule_name)
        one.add_metric(name=METRIC, unit=MetricUnit.Count, value=1)
        one.flush_metrics()
