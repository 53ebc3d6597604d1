"""The options of the ``log_alert`` function and ``logferry alerts run``."""

from __future__ import annotations

from dataclasses import dataclass

from logferry.config import option


@dataclass(frozen=True)
class AlertOptions:
    """Where the rules, their state and the Slack webhooks are (the search back end reads
    the search sink's options)."""

    rules_param: str | None = option("RULES_PARAM", None, "SSM parameter holding the rules")
    rules_s3_uri: str | None = option(
        "RULES_S3_URI", None, "`s3://bucket/key` of the rules (wins over `RULES_PARAM`)"
    )
    state_param_prefix: str | None = option(
        "STATE_PARAM_PREFIX", None, "SSM prefix of each rule's state (unset: in memory)"
    )
    slack_secret_arn: str | None = option(
        "SLACK_SECRET_ARN", None, "Secrets Manager secret holding the Slack webhooks"
    )
    dashboards_url: str | None = option(
        "DASHBOARDS_URL", None, "Kibana / OpenSearch Dashboards URL for Discover links"
    )
    query_timeout_seconds: float = option(
        "QUERY_TIMEOUT_SECONDS", 60.0, "how long a Logs Insights query may run", kind="number"
    )
    failure_notice_hours: float = option(
        "FAILURE_NOTICE_HOURS",
        6.0,
        'least hours between two "rule failing" Slack notices of one rule',
        kind="number",
    )
