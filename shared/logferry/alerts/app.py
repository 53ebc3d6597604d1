"""Wiring an alert run from the environment (the ``log_alert`` function and the CLI).

Options: :class:`~logferry.alerts.options.AlertOptions`, and the search sink's
:class:`~logferry.sinks.options.SearchOptions` for the search back end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import boto3

from logferry.alerts import engine
from logferry.alerts.engine import Notifier, RunSummary
from logferry.alerts.insights import LogsInsightsBackend
from logferry.alerts.options import AlertOptions
from logferry.alerts.query import Backend
from logferry.alerts.rules import Rule
from logferry.alerts.search import SearchBackend
from logferry.alerts.slack import SlackNotifier, UnpostedNotifier, load_webhooks
from logferry.alerts.state import MemoryStateStore, SsmStateStore, StateStore
from logferry.config import ConfigError, load
from logferry.sinks.options import SearchOptions


def backends_from_env(rules: list[Rule], env: Mapping[str, str]) -> dict[str, Backend]:
    """The back ends the rules use, built from the environment."""
    found: dict[str, Backend] = {}
    wanted = {rule.backend for rule in rules}
    options = load(AlertOptions, env)
    if "logs_insights" in wanted:
        found["logs_insights"] = LogsInsightsBackend(
            boto3.client("logs"), timeout=options.query_timeout_seconds
        )
    if "search" in wanted:
        from logferry.sinks.search import client_for

        search = load(SearchOptions, env)
        if not search.url:
            raise ConfigError("rules use the search back end but SEARCH_URL is not set")
        found["search"] = SearchBackend(client_for(search), options.dashboards_url)
    return found


def store_from_env(env: Mapping[str, str]) -> StateStore:
    """SSM parameters under STATE_PARAM_PREFIX, else memory (a one-shot run)."""
    prefix = load(AlertOptions, env).state_param_prefix
    return SsmStateStore(boto3.client("ssm"), prefix) if prefix else MemoryStateStore()


def notifier_from_env(env: Mapping[str, str]) -> Notifier:
    """Webhooks from the SLACK_SECRET_ARN secret; while it has none, a notifier that posts
    nothing (and says so once)."""
    arn = load(AlertOptions, env).slack_secret_arn
    if not arn:
        raise ConfigError("SLACK_SECRET_ARN is not set: no webhook to post alerts to")
    webhooks = load_webhooks(arn, boto3.client("secretsmanager"))
    return SlackNotifier(webhooks) if webhooks else UnpostedNotifier(arn)


def run_once(
    rules: list[Rule],
    env: Mapping[str, str],
    now_ms: int,
    *,
    store: StateStore | None = None,
    notifier: Notifier | None = None,
) -> dict[str, Any]:
    """One run of ``rules`` with clients from ``env``; the summary as a dict."""
    every_hours = load(AlertOptions, env).failure_notice_hours
    summary: RunSummary = engine.run(
        rules,
        backends_from_env(rules, env),
        store or store_from_env(env),
        notifier or notifier_from_env(env),
        now_ms,
        notice_every_ms=int(every_hours * 3_600_000),
    )
    return {"rules": len(rules), **asdict(summary)}
