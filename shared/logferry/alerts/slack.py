"""Slack: one Block Kit message per firing, sent by webhook with slack_sdk's retry handlers.

Webhooks come from the Secrets Manager secret ``SLACK_SECRET_ARN``: JSON
``{"default": url, "<channel>": url}`` (a bare URL string is the ``default`` webhook). A
secret that exists without a value yet (Terraform creates it empty) or with an empty one
holds no webhooks: the run evaluates the rules and posts nothing (:class:`UnpostedNotifier`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from logferry.alerts.evaluate import Firing
from logferry.alerts.rules import Rule

log = logging.getLogger(__name__)
SAMPLE_CHARS = 300
SECTION_CHARS = 2900


def _secret_string(secret_arn: str, secrets_client: Any) -> str:
    """The secret's current value; empty when the secret exists but has no value yet.

    GetSecretValue answers ResourceNotFoundException both for a missing secret and for one
    without an AWSCURRENT version; DescribeSecret tells them apart (a missing one raises).
    """
    try:
        response = secrets_client.get_secret_value(SecretId=secret_arn)
    except secrets_client.exceptions.ResourceNotFoundException:
        secrets_client.describe_secret(SecretId=secret_arn)
        return ""
    return str(response.get("SecretString") or "")


def load_webhooks(secret_arn: str, secrets_client: Any) -> dict[str, str]:
    """Channel -> webhook URL from the secret (JSON object, or a bare URL for ``default``);
    empty when the secret has no value yet or an empty one."""
    raw = _secret_string(secret_arn, secrets_client).strip()
    if not raw:
        return {}
    if raw.startswith("https://") or raw.startswith("http://"):
        return {"default": raw}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError(f"secret {secret_arn}: expected a webhook URL or a JSON object") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"secret {secret_arn}: expected {{channel: webhook URL}}")
    return dict(data)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _window(firing: Firing) -> str:
    end = datetime.fromtimestamp(firing.window.end_ms / 1000, tz=UTC).strftime("%H:%M")
    return f"{_time(firing.window.start_ms)[:-4]}–{end} UTC"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_CHARS]}}


def build_message(firing: Firing) -> dict[str, Any]:
    """The webhook payload (``text`` fallback plus ``blocks``) of one firing."""
    rule, result = firing.rule, firing.result
    title = f"{rule.name}: {firing.summary()}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"🚨 {rule.name}"[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Count*\n{firing.summary()}"},
                {"type": "mrkdwn", "text": f"*Window*\n{_window(firing)}"},
                {"type": "mrkdwn", "text": f"*Rule*\n`{rule.type}` on `{rule.backend}`"},
                {"type": "mrkdwn", "text": f"*Source*\n{rule.index or ', '.join(rule.log_groups)}"},
            ],
        },
    ]
    if rule.description:
        blocks.append(_mrkdwn(rule.description))
    if firing.repeats:
        since = _time(firing.since_ms) if firing.since_ms is not None else "the last alert"
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Fired {firing.repeats + 1} times since {since} "
                        f"({firing.repeats} held back by the {rule.realert_ms // 60_000}m realert)",
                    }
                ],
            }
        )
    for name, values in result.top.items():
        if values:
            listed = ", ".join(f"`{value}` ×{count}" for value, count in values)
            blocks.append(_mrkdwn(f"*Top {name}*: {listed}"))
    if result.samples:
        lines = "\n".join(line[:SAMPLE_CHARS] for line in result.samples)
        blocks.append(_mrkdwn(f"*Samples*\n```{lines[: SECTION_CHARS - 20]}```"))
    if result.link:
        blocks.append(_mrkdwn(f"<{result.link}|Open the query>"))
    return {"text": title, "blocks": blocks}


def build_notice(text: str) -> dict[str, Any]:
    """The webhook payload of a notice about a rule (failing, working again)."""
    return {"text": text, "blocks": [_mrkdwn(f":warning: {text}")]}


def retry_handlers(
    max_retries: int = 3, interval: RetryIntervalCalculator | None = None
) -> list[RetryHandler]:
    """Retries on 429 (honouring Retry-After), 500/503 and connection errors."""
    options: dict[str, Any] = {"max_retry_count": max_retries}
    if interval is not None:
        options["interval_calculator"] = interval
    return [
        RateLimitErrorRetryHandler(**options),
        ServerErrorRetryHandler(**options),
        ConnectionErrorRetryHandler(**options),
    ]


class SlackNotifier:
    """Sends firings to the webhook of the rule's channel (else ``default``)."""

    def __init__(
        self,
        webhooks: dict[str, str],
        *,
        handlers: list[RetryHandler] | None = None,
        timeout: int = 10,
        client_factory: Callable[..., WebhookClient] = WebhookClient,
    ) -> None:
        self.webhooks = webhooks
        self.handlers = retry_handlers() if handlers is None else handlers
        self.timeout = timeout
        self.client_factory = client_factory

    def send(self, firing: Firing) -> bool:
        """Post one firing; False (and logged) when Slack could not take it after retries."""
        return self._post(firing.rule, build_message(firing))

    def notify(self, rule: Rule, text: str) -> bool:
        """Post a notice about the rule itself (:func:`build_notice`); False as :meth:`send`."""
        return self._post(rule, build_notice(text))

    def _post(self, rule: Rule, payload: dict[str, Any]) -> bool:
        channel = rule.channel
        url = self.webhooks.get(channel) or self.webhooks.get("default")
        if not url:
            log.error("rule %s: no webhook for channel %r or default", rule.name, channel)
            return False
        client = self.client_factory(url, timeout=self.timeout, retry_handlers=self.handlers)
        try:
            response = client.send_dict(payload)
        except Exception as exc:  # connection errors left after the retry handlers
            log.error("rule %s: Slack post to %r failed: %r", rule.name, channel, exc)
            return False
        if response.status_code != 200:
            log.error(
                "rule %s: Slack answered %s to the post to %r: %s",
                rule.name,
                response.status_code,
                channel,
                response.body[:200],
            )
            return False
        return True


class UnpostedNotifier:
    """Posts nothing: the Slack secret has no webhook yet. Firings are evaluated and counted
    (``unposted``) and their windows handled, so setting the webhook later posts only new ones."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        log.warning(
            "Slack secret %s has no webhook yet: alerts are evaluated but not posted until the "
            "webhook is set (aws secretsmanager put-secret-value --secret-id %s --secret-string "
            "<webhook URL>)",
            secret_arn,
            secret_arn,
        )

    def send(self, firing: Firing) -> None:
        """Nothing to post to (None: the window is handled without a message)."""
        return None

    def notify(self, rule: Rule, text: str) -> None:
        """Nothing to post to (None: the notice is handled; the run still logs the error)."""
        return None
