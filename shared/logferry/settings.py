"""A shipping function's configuration: its own options, its format's and its sinks'.

Read from the environment Terraform sets (no secrets here); see :mod:`logferry.config`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from logferry import formats
from logferry.config import ConfigError, load, option
from logferry.deadline import DEFAULT_RESERVE_SECONDS
from logferry.sinks.options import CloudWatchOptions, CsvOptions, QuarantineOptions, SearchOptions

__all__ = ["ConfigError", "RuntimeOptions", "Settings"]


@dataclass(frozen=True)
class RuntimeOptions:
    """What every shipping function reads, whatever its format and sinks."""

    log_format: str | None = option(
        "LOG_FORMAT", None, "format name (default: the function's own, see `logferry formats`)"
    )
    sinks: tuple[str, ...] | None = option(
        "SINKS",
        None,
        "the sinks, in order (default: the function's own; see the table of functions)",
        kind="names",
    )
    reserve_seconds: float = option(
        "RESERVE_SECONDS",
        DEFAULT_RESERVE_SECONDS,
        "time kept back to flush, park and hand an object on: reading stops this long before "
        "the invocation's end; each bounded call (PutLogEvents, park, hand-off) takes at most "
        "a fifth of it",
        kind="seconds",
    )
    checkpoint_table: str | None = option(
        "CHECKPOINT_TABLE",
        None,
        "DynamoDB table of per-object progress: a retried object resumes after its last "
        "acknowledged batch, a forked continuation stops (unset: no checkpoints)",
    )


@dataclass(frozen=True)
class Settings:
    """Everything a log-shipping function is told: format, sinks and each one's options."""

    log_format: str
    sinks: tuple[str, ...] = ()
    reserve_seconds: float = DEFAULT_RESERVE_SECONDS
    checkpoint_table: str | None = None
    format_options: Any = None
    """The format's own options dataclass (``None``: the format's defaults)."""
    cloudwatch: CloudWatchOptions = field(default_factory=CloudWatchOptions)
    search: SearchOptions = field(default_factory=SearchOptions)
    quarantine: QuarantineOptions = field(default_factory=QuarantineOptions)
    csv: CsvOptions = field(default_factory=CsvOptions)

    @classmethod
    def from_env(
        cls,
        default_format: str,
        env: Mapping[str, str] | None = None,
        *,
        default_sinks: tuple[str, ...] = (),
    ) -> Settings:
        """Read the settings from ``env`` (default: the process environment)."""
        e = os.environ if env is None else env
        own = load(RuntimeOptions, e)
        log_format = own.log_format or default_format
        return cls(
            log_format=log_format,
            sinks=default_sinks if own.sinks is None else own.sinks,
            reserve_seconds=own.reserve_seconds,
            checkpoint_table=own.checkpoint_table,
            format_options=formats.load_options(log_format, e),
            cloudwatch=load(CloudWatchOptions, e),
            search=load(SearchOptions, e),
            quarantine=load(QuarantineOptions, e),
            csv=load(CsvOptions, e),
        )

    def with_format(self, name: str | None, **options: Any) -> Settings:
        """These settings with another format (``None``: the same) and format options."""
        log_format = name or self.log_format
        base = self.format_options if log_format == self.log_format else None
        return replace(
            self,
            log_format=log_format,
            format_options=formats.options_with(log_format, base, **options),
        )
