"""Function configuration from environment variables (set by Terraform; no secrets here)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """A missing or invalid setting; the message names the variable."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds") from None
    if not 0 <= value < 900:
        raise ConfigError(f"{name}={raw!r}: expected seconds in [0, 900)")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a log-shipping function can be told through its environment.

    Variables (all optional unless a sink needs them):
    LOG_FORMAT, LOG_PATTERN (regex format), LOG_GROUP, LOG_STREAM (stream name template,
    ``{family}`` is the object's key family), CWL_PREFIX (seed-000 metadata prefix),
    CWL_RETENTION_DAYS, SEARCH_URL, SEARCH_ENGINE (elasticsearch|opensearch),
    SEARCH_AUTH (none|secret|sigv4), SEARCH_SECRET_ARN, INDEX_PREFIX, QUARANTINE_BUCKET,
    QUARANTINE_PREFIX, OUTPUT_BUCKET, STATUS_COUNTS (per-minute status documents),
    RESERVE_SECONDS (time kept back to flush before handing an object on).
    """

    log_format: str
    log_pattern: str | None = None
    log_group: str | None = None
    log_stream: str = "{family}"
    cwl_prefix: bool = False
    cwl_retention_days: int | None = None
    search_url: str | None = None
    search_engine: str = "elasticsearch"
    search_auth: str = "none"
    search_secret_arn: str | None = None
    index_prefix: str = "logferry"
    quarantine_bucket: str | None = None
    quarantine_prefix: str = "quarantine"
    output_bucket: str | None = None
    status_counts: bool = False
    reserve_seconds: float = 20.0

    @classmethod
    def from_env(cls, default_format: str, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment)."""
        e = os.environ if env is None else env
        engine = e.get("SEARCH_ENGINE", "elasticsearch") or "elasticsearch"
        if engine not in ("elasticsearch", "opensearch"):
            raise ConfigError(f"SEARCH_ENGINE={engine!r}: expected elasticsearch or opensearch")
        auth = e.get("SEARCH_AUTH") or ("secret" if e.get("SEARCH_SECRET_ARN") else "none")
        if auth not in ("none", "secret", "sigv4"):
            raise ConfigError(f"SEARCH_AUTH={auth!r}: expected none, secret or sigv4")
        if auth == "secret" and not e.get("SEARCH_SECRET_ARN"):
            raise ConfigError("SEARCH_AUTH=secret needs SEARCH_SECRET_ARN")
        return cls(
            log_format=e.get("LOG_FORMAT") or default_format,
            log_pattern=e.get("LOG_PATTERN") or None,
            log_group=e.get("LOG_GROUP") or None,
            log_stream=e.get("LOG_STREAM") or "{family}",
            cwl_prefix=_bool(e, "CWL_PREFIX", False),
            cwl_retention_days=_int(e, "CWL_RETENTION_DAYS", None),
            search_url=e.get("SEARCH_URL") or None,
            search_engine=engine,
            search_auth=auth,
            search_secret_arn=e.get("SEARCH_SECRET_ARN") or None,
            index_prefix=e.get("INDEX_PREFIX") or "logferry",
            quarantine_bucket=e.get("QUARANTINE_BUCKET") or None,
            quarantine_prefix=e.get("QUARANTINE_PREFIX") or "quarantine",
            output_bucket=e.get("OUTPUT_BUCKET") or None,
            status_counts=_bool(e, "STATUS_COUNTS", False),
            reserve_seconds=_seconds(e, "RESERVE_SECONDS", 20.0),
        )
