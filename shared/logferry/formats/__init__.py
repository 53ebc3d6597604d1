"""Log formats: one module per format, looked up by name."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

from logferry.config import ConfigError, load
from logferry.formats.base import LogFormat

_FACTORIES: dict[str, tuple[str, str]] = {
    # name: (module, factory attribute)
    "alb": ("logferry.formats.elb.alb", "AlbFormat"),
    "elb": ("logferry.formats.elb.classic", "ClassicElbFormat"),
    "nlb": ("logferry.formats.elb.nlb", "NlbFormat"),
    "loadbalancer": ("logferry.formats.elb.family", "LoadBalancerFormat"),
    "auto": ("logferry.formats.detect", "AutoFormat"),
    "cwl": ("logferry.formats.cwl", "CwlFormat"),
    "apache": ("logferry.formats.access", "ApacheFormat"),
    "nginx": ("logferry.formats.access", "NginxFormat"),
    "regex": ("logferry.formats.access", "RegexFormat"),
    "serverlog": ("logferry.formats.serverlog", "ServerLogFormat"),
    "apigw": ("logferry.formats.apigw", "ApiGwFormat"),
    "cloudfront": ("logferry.formats.cloudfront", "CloudFrontFormat"),
    "s3access": ("logferry.formats.s3access", "S3AccessFormat"),
    "vpcflow": ("logferry.formats.vpcflow", "VpcFlowFormat"),
    "waf": ("logferry.formats.waf", "WafFormat"),
    "cloudtrail": ("logferry.formats.cloudtrail", "CloudTrailFormat"),
}

DESCRIPTIONS: dict[str, str] = {
    "alb": "Application Load Balancer access logs (aws.alb)",
    "elb": "Classic Load Balancer access logs (aws.elb)",
    "nlb": "Network Load Balancer TLS access logs (aws.nlb)",
    "loadbalancer": "any Elastic Load Balancing log, ALB, Classic or NLB, chosen per line",
    "auto": "each object's format recognised from its S3 key or first line",
    "cwl": "CloudWatch Logs subscription envelopes delivered by Firehose (aws.cloudwatch_logs)",
    "apache": "Apache access logs: a LogFormat string, a preset, or the preset each object matches",
    "nginx": "nginx access logs: a log_format string, a preset, or the preset each object matches",
    "regex": "any line format, given as a regex with named groups (--pattern)",
    "serverlog": "on-prem 'date uptime vmstat' lines (serverlog.load)",
    "apigw": "API Gateway JSON access logs (aws.apigateway)",
    "cloudfront": "CloudFront standard logs, W3C with a #Fields header (aws.cloudfront)",
    "s3access": "Amazon S3 server access logs (aws.s3access)",
    "vpcflow": "VPC Flow Logs delivered to S3, fields named by the header (aws.vpcflow)",
    "waf": "AWS WAF logs, one JSON object per request (aws.waf)",
    "cloudtrail": "CloudTrail log files, one document per record (aws.cloudtrail)",
}


def names() -> list[str]:
    """All format names, sorted."""
    return sorted(_FACTORIES)


def format_class(name: str) -> type[LogFormat]:
    """The class of the format called ``name`` (its module is imported on first use)."""
    try:
        module_name, attr = _FACTORIES[name]
    except KeyError:
        raise ConfigError(f"unknown format {name!r}; known: {', '.join(names())}") from None
    cls: type[LogFormat] = getattr(importlib.import_module(module_name), attr)
    return cls


def load_options(name: str, env: Mapping[str, str]) -> Any:
    """The options of format ``name`` read from ``env`` (``None`` if it has none)."""
    options = format_class(name).Options
    return None if options is None else load(options, env)


def options_with(name: str, base: Any, **overrides: Any) -> Any:
    """Format ``name``'s options: ``base`` (else those in the process environment) with
    ``overrides`` not ``None``."""
    options = format_class(name).Options
    given = {k: v for k, v in overrides.items() if v is not None}
    if options is None:
        if given:
            raise ConfigError(f"format {name} takes no options (given: {', '.join(given)})")
        return None
    if isinstance(base, options):
        return dataclasses.replace(base, **given)
    return load(options, None, **given)


def build(name: str, options: Any = None) -> LogFormat:
    """The format ``name`` with its options dataclass (``None``: its defaults)."""
    cls = format_class(name)
    if options is None:
        return cls()
    return cls(**{f.name: getattr(options, f.name) for f in dataclasses.fields(options)})


def get_format(name: str, **options: Any) -> LogFormat:
    """Build the format called ``name``; options (e.g. ``pattern``) go to its constructor."""
    return format_class(name)(**options)
