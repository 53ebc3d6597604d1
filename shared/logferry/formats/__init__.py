"""Log formats: one module per format, looked up by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from logferry.formats.base import LogFormat

_FACTORIES: dict[str, tuple[str, str]] = {
    # name: (module, factory attribute)
    "alb": ("logferry.formats.elb.alb", "AlbFormat"),
    "elb": ("logferry.formats.elb.classic", "ClassicElbFormat"),
    "nlb": ("logferry.formats.elb.nlb", "NlbFormat"),
    "cwl": ("logferry.formats.cwl", "CwlFormat"),
    "apache": ("logferry.formats.access", "ApacheFormat"),
    "nginx": ("logferry.formats.access", "NginxFormat"),
    "regex": ("logferry.formats.access", "RegexFormat"),
    "serverlog": ("logferry.formats.serverlog", "ServerLogFormat"),
    "apigw": ("logferry.formats.apigw", "ApiGwFormat"),
}

DESCRIPTIONS: dict[str, str] = {
    "alb": "Application Load Balancer access logs (aws.alb)",
    "elb": "Classic Load Balancer access logs (aws.elb)",
    "nlb": "Network Load Balancer TLS access logs (aws.nlb)",
    "cwl": "CloudWatch Logs subscription envelopes delivered by Firehose (aws.cloudwatch_logs)",
    "apache": "Apache combined or common access logs (apache.access)",
    "nginx": "nginx combined or common access logs (nginx.access)",
    "regex": "any line format, given as a regex with named groups (--pattern)",
    "serverlog": "on-prem 'date uptime vmstat' lines (serverlog.load)",
    "apigw": "API Gateway JSON access logs (aws.apigateway)",
}


def names() -> list[str]:
    """All format names, sorted."""
    return sorted(_FACTORIES)


def get_format(name: str, **options: Any) -> LogFormat:
    """Build the format called ``name``; options (e.g. ``pattern``) go to its constructor."""
    import importlib

    try:
        module_name, attr = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(names())}") from None
    factory: Callable[..., LogFormat] = getattr(importlib.import_module(module_name), attr)
    return factory(**options)
