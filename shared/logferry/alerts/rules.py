"""Alert rules: the configuration schema, validated in pure Python (JSON or YAML text).

A rules document is ``{"defaults": {...}, "rules": [{...}, ...]}``; every rule key may be
set in ``defaults``. Keys of a rule:

- ``name`` (required, unique), ``type``: ``any`` | ``frequency`` | ``flatline`` | ``spike``
- ``backend``: ``logs_insights`` (needs ``log_groups``, ``query`` is a Logs Insights pipeline
  such as ``filter status >= 400``) or ``search`` (needs ``index``; ``query`` is a Lucene
  query string or a query DSL object; ``time_field`` defaults to ``@timestamp``)
- ``window`` (``5m``), ``delay`` (``1m``, kept back for late logs), ``realert`` (``30m``)
- ``threshold``: ``frequency`` fires at ``count >= threshold``, ``flatline`` at
  ``count < threshold``; ``spike`` fires when ``count >= min_count`` and
  ``count >= ratio * previous window's count``
- ``channel`` (``default``): the key of the webhook in the Slack secret
- ``top_fields`` (fields whose top values the message lists), ``samples`` (lines shown)
- ``max_catchup``: most windows one run evaluates after missed runs (older ones are skipped)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from logferry.alerts.options import AlertOptions
from logferry.config import load

RULE_TYPES = ("any", "frequency", "flatline", "spike")
BACKENDS = ("logs_insights", "search")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_KEYS = {
    "name", "type", "backend", "log_groups", "log_group", "index", "query", "time_field",
    "window", "delay", "realert", "threshold", "ratio", "min_count", "channel", "top_fields",
    "samples", "max_catchup", "description",
}  # fmt: skip


class RuleError(ValueError):
    """An invalid rules document; the message names the rule and the key."""


def parse_duration(value: Any, where: str) -> int:
    """Milliseconds of ``5m`` / ``90s`` / ``1h`` / ``1d`` (or a number of seconds)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value * 1000
    match = _DURATION.match(str(value).strip())
    if not match:
        raise RuleError(f"{where}: {value!r} is not a duration like 90s, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


@dataclass(frozen=True)
class Rule:
    """One validated alert rule (durations in milliseconds)."""

    name: str
    backend: str
    query: str | dict[str, Any]
    type: str = "any"
    log_groups: tuple[str, ...] = ()
    index: str = ""
    time_field: str = "@timestamp"
    window_ms: int = 300_000
    delay_ms: int = 60_000
    realert_ms: int = 1_800_000
    threshold: int = 1
    ratio: float = 3.0
    min_count: int = 10
    channel: str = "default"
    top_fields: tuple[str, ...] = ()
    samples: int = 3
    max_catchup: int = 288
    description: str = ""


def _str(raw: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise RuleError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _int(raw: dict[str, Any], key: str, where: str, default: int, minimum: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RuleError(f"{where}: {key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{where}: {key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def parse_rule(raw: dict[str, Any], position: int) -> Rule:
    """Validate one rule mapping (defaults already merged) into a :class:`Rule`."""
    where = f"rule #{position}"
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: expected an object, got {type(raw).__name__}")
    where = f"rule #{position} ({raw.get('name', '?')})"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise RuleError(f"{where}: unknown keys {unknown}")
    rule_type = raw.get("type", "any")
    if rule_type not in RULE_TYPES:
        raise RuleError(f"{where}: 'type' must be one of {RULE_TYPES}, got {rule_type!r}")
    backend = raw.get("backend", "logs_insights")
    if backend not in BACKENDS:
        raise RuleError(f"{where}: 'backend' must be one of {BACKENDS}, got {backend!r}")
    query = raw.get("query", "*" if backend == "search" else "fields @timestamp, @message")
    if not isinstance(query, (str, dict)) or not query:
        raise RuleError(f"{where}: 'query' must be a string or (search) a query object")
    log_groups = _strings(raw, "log_groups", where) + _strings(raw, "log_group", where)
    if backend == "logs_insights" and (not log_groups or isinstance(query, dict)):
        raise RuleError(f"{where}: logs_insights needs 'log_groups' and a string 'query'")
    if backend == "search":
        _str(raw, "index", where)
    ratio = raw.get("ratio", 3.0)
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio <= 0:
        raise RuleError(f"{where}: 'ratio' must be a number > 0, got {ratio!r}")
    window_ms = parse_duration(raw.get("window", "5m"), f"{where} window")
    if window_ms < 60_000 or window_ms % 60_000:
        raise RuleError(f"{where}: 'window' must be a whole number of minutes")
    return Rule(
        name=_str(raw, "name", where),
        backend=backend,
        query=query,
        type=rule_type,
        log_groups=log_groups,
        index=str(raw.get("index", "")),
        time_field=_str(raw, "time_field", where, "@timestamp"),
        window_ms=window_ms,
        delay_ms=parse_duration(raw.get("delay", "1m"), f"{where} delay"),
        realert_ms=parse_duration(raw.get("realert", "30m"), f"{where} realert"),
        threshold=_int(raw, "threshold", where, 1, 0 if rule_type == "flatline" else 1),
        ratio=float(ratio),
        min_count=_int(raw, "min_count", where, 10, 1),
        channel=_str(raw, "channel", where, "default"),
        top_fields=_strings(raw, "top_fields", where),
        samples=_int(raw, "samples", where, 3, 0),
        max_catchup=_int(raw, "max_catchup", where, 288, 1),
        description=str(raw.get("description", "")),
    )


def parse_rules(document: Any, source: str = "rules") -> list[Rule]:
    """Validate a whole rules document (already decoded) into rules."""
    if isinstance(document, list):
        document = {"rules": document}
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{source}: expected an object with a 'rules' list")
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict):
        raise RuleError(f"{source}: 'defaults' must be an object")
    rules = [
        parse_rule({**defaults, **raw} if isinstance(raw, dict) else raw, n)
        for n, raw in enumerate(document["rules"], start=1)
    ]
    names = [rule.name for rule in rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RuleError(f"{source}: rule names must be unique, repeated: {duplicates}")
    return rules


def load_rules_text(text: str, source: str = "rules") -> list[Rule]:
    """Decode JSON (or YAML, when PyYAML is installed) and validate it."""
    try:
        document = json.loads(text)
    except ValueError as json_error:
        try:
            import yaml
        except ImportError:
            raise RuleError(f"{source}: not JSON ({json_error}) and PyYAML is absent") from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RuleError(f"{source}: neither JSON nor YAML: {exc}") from None
    return parse_rules(document, source)


def load_rules_from_aws(
    env: dict[str, str], ssm_client: Any = None, s3_client: Any = None
) -> list[Rule]:
    """Rules from the S3 object ``RULES_S3_URI`` or else the SSM parameter ``RULES_PARAM``."""
    options = load(AlertOptions, env)
    uri = options.rules_s3_uri
    if uri:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise RuleError(f"RULES_S3_URI={uri!r}: expected s3://bucket/key")
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return load_rules_text(body.decode("utf-8"), uri)
    param = options.rules_param
    if not param:
        raise RuleError("set RULES_PARAM (SSM parameter) or RULES_S3_URI (S3 object)")
    value = ssm_client.get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
    return load_rules_text(value, f"ssm:{param}")
