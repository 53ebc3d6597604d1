"""Realistic, deterministic ALB access log lines and S3 keys (tests, demo, benchmark).

The same ``seed`` always gives the same lines. The mix covers what parsers trip on:
http/https/h2/grpcs/ws/wss, IPv4 and IPv6 clients, Lambda targets (target ``-``),
redirect and fixed-response actions (processing times ``-1``), target timeouts,
2xx/3xx/4xx/5xx, WAF blocks, desync classifications, percent-encoded and raw UTF-8
URLs, non-ASCII user agents, and every field up to ``request_transform_status``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

__all__ = ["alb_key", "alb_lines"]

_ACCOUNT = "123456789012"
_REGION = "ap-northeast-1"
_ELB = "app/web-prod/50dc6c495c0c9188"
_TG = f"arn:aws:elasticloadbalancing:{_REGION}:{_ACCOUNT}:targetgroup"
_TARGET_GROUPS = [f"{_TG}/web-prod-tg/73e2d6bc24d8a067", f"{_TG}/api-prod-tg/0f1e2d3c4b5a6978"]
_LAMBDA_TG = f"{_TG}/thumbnail-fn/9a8b7c6d5e4f3a2b"
_CERT = f"arn:aws:acm:{_REGION}:{_ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
_HOST = "www.example.com"
_TARGETS = [f"10.0.{i // 4}.{10 + i}:{8080 if i % 2 else 80}" for i in range(8)]
_PATHS = [
    "/",
    "/index.html",
    "/api/v1/users/42",
    "/api/v1/orders?page=2&sort=desc",
    "/search?q=%E6%97%A5%E6%9C%AC%E8%AA%9E",
    "/検索?q=日本語",
    "/static/app.3f9a1c.js",
    "/static/logo.png",
    "/healthz",
    "/login",
    "/cart/add?sku=ABC-123&qty=1",
    "/café/menü",
]
_POST_PATHS = ["/api/v1/orders", "/login", "/api/v1/upload", "/graphql"]
_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/2.0",
    "ELB-HealthChecker/2.0",
    "MyApp/3.2 (日本語; ja-JP)",
    "-",
]
_CIPHERS = ["ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]


def alb_key(
    account: str, region: str, lb_name: str, when: datetime, prefix: str | None = None
) -> str:
    """A realistic S3 key for the ALB log file holding requests just before ``when``.

    ``[prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/<account>_
    elasticloadbalancing_<region>_app.<lb-name>.<lb-id>_<end-time>_<ip>_<random>.log.gz``;
    the id, node ip and random part are derived from the arguments (deterministic).
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    end = when.replace(second=0, microsecond=0) + timedelta(minutes=5 - when.minute % 5)
    digest = hashlib.sha256(f"{account}/{region}/{lb_name}/{end:%Y%m%dT%H%M}".encode()).digest()
    lb_id = hashlib.sha256(lb_name.encode()).hexdigest()[:16]
    ip = f"52.{digest[0]}.{digest[1]}.{digest[2]}"
    rand = "".join("abcdefghijklmnopqrstuvwxyz0123456789"[b % 36] for b in digest[3:11])
    name = (
        f"{account}_elasticloadbalancing_{region}_app.{lb_name}.{lb_id}"
        f"_{end:%Y%m%dT%H%M}Z_{ip}_{rand}.log.gz"
    )
    head = f"{prefix.strip('/')}/" if prefix else ""
    return f"{head}AWSLogs/{account}/elasticloadbalancing/{region}/{when:%Y/%m/%d}/{name}"


def alb_lines(
    n: int,
    start: datetime,
    seed: int = 0,
    error_rate: float = 0.02,
    garbage_rate: float = 0.0,
) -> Iterator[str]:
    """``n`` ALB access log lines from ``start`` on (a few ms apart), deterministic per ``seed``.

    ``error_rate`` is the share of 5xx responses (502 from failing Lambdas, 503, 504
    target timeouts); ``garbage_rate`` the share of truncated lines no parser accepts.
    Fast enough for benchmarks (one random draw per line, table lookups).
    """
    rng = random.Random(seed)
    bits = rng.getrandbits
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    t_us = int(start.timestamp() * 1_000_000)
    # 256 clients, 1 in 10 IPv6; 32 (method, path) pairs, 1 in 5 POST
    clients = [
        f"2001:db8:{bits(16):x}::{bits(16):x}"
        if i % 10 == 0
        else f"{(203, 198, 192)[i % 3]}.{bits(8)}.{bits(8)}.{bits(8)}"
        for i in range(256)
    ]
    requests = [
        ("POST", _POST_PATHS[i % len(_POST_PATHS)]) if i % 5 == 0 else ("GET", _PATHS[i % 12])
        for i in range(32)
    ]
    agents = (_AGENTS * 2)[:8]
    ms = [f"{i / 1000:.3f}" for i in range(1024)] + ["-1"]
    sec_cache: dict[int, str] = {}
    error_cut = int(error_rate * 65536)
    garbage_cut = int(garbage_rate * 65536)

    def stamp(us: int) -> str:
        sec, frac = divmod(us, 1_000_000)
        text = sec_cache.get(sec)
        if text is None:
            if len(sec_cache) > 4096:
                sec_cache.clear()
            text = sec_cache[sec] = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{text}.{frac:06d}Z"

    for _ in range(n):
        x = bits(128)
        t_us += 1 + (x & 0x1FFF)  # ~4 ms apart on average
        r = (x >> 13) & 0xFF
        typ = _TYPES[r]
        tls = typ not in ("http", "ws")
        scheme, port = ("https", 443) if tls else ("http", 80)
        method, path = requests[(x >> 21) & 31]
        if typ == "grpcs":
            method, path = "POST", "/helloworld.Greeter/SayHello"
        target = _TARGETS[(x >> 26) & 7]
        tg = _TARGET_GROUPS[(x >> 29) & 1]
        req_t, tgt_t, rsp_t = (x >> 30) & 7, 1 + ((x >> 33) & 511), (x >> 42) & 3  # ms
        actions, redirect, error_reason = "forward", "-", "-"
        status = tstatus = "200"
        u = (x >> 44) & 0xFFFF
        if typ in ("ws", "wss"):
            status = tstatus = "101"
            tgt_t = 100_000 + ((x >> 60) & 0xFFFFF)
        elif u < error_cut:
            status = ("502", "503", "504")[u % 3]
            tstatus = "-"
            if status == "504":
                tgt_t, rsp_t = -1, -1
            elif status == "502":
                target, tg, error_reason = "-", _LAMBDA_TG, "LambdaUnhandled"
            else:
                target, req_t, tgt_t, rsp_t = "-", -1, -1, -1
        elif u < 3932:  # up to 6 %: a Lambda target that answered
            target, tg = "-", _LAMBDA_TG
        elif u < 6554:
            status = tstatus = ("404", "401", "400")[u % 3]
        elif u < 8520:
            status, tstatus, target, actions = "301", "-", "-", "redirect"
            redirect = f"https://{_HOST}:443{path}"
            req_t, tgt_t, rsp_t = -1, -1, -1
        elif u < 9175:
            status, tstatus, target, actions = "503", "-", "-", "fixed-response"
            req_t, tgt_t, rsp_t = -1, -1, -1
        elif u < 9830:
            status, tstatus, target, actions = "403", "-", "-", "waf"
            req_t, tgt_t, rsp_t = -1, -1, -1
        elif u < 10486:
            status, tstatus = "460", "-"
            tgt_t, rsp_t = -1, -1
        elif u < 13107:
            status = tstatus = "304"
        total_us = 1000 * (max(req_t, 0) + max(tgt_t, 0) + max(rsp_t, 0))
        cls = _CLASSIFICATIONS[(x >> 80) & 127]
        tls_part = _TLS[(x >> 87) & 7] if tls else "- -"
        targets = f'"{target}" "{tstatus}"' if target != "-" and tstatus != "-" else '"-" "-"'
        line = (
            f"{typ} {stamp(t_us)} {_ELB} {clients[(x >> 90) & 255]}:{1024 + ((x >> 98) & 0x7FFF)} "
            f"{target} {ms[req_t]} {ms[tgt_t] if tgt_t < 1024 else f'{tgt_t / 1000:.3f}'} "
            f"{ms[rsp_t]} {status} {tstatus} {200 + ((x >> 113) & 1023)} {150 + (x & 0x3FFF) * 3} "
            f'"{method} {scheme}://{_HOST}:{port}{path} {_VERSIONS[typ]}" '
            f'"{agents[(x >> 123) & 7]}" {tls_part} {tg} '
            f'"Root=1-{t_us // 1_000_000:08x}-{bits(96):024x}" {_SNI if tls else _NO_SNI} '
            f"{0 if actions != 'forward' or r & 1 else 1 + (r >> 5)} "
            f"{stamp(t_us - total_us - (x & 1023))} "
            f'"{actions}" "{redirect}" "{error_reason}" {targets} {cls} '
            f'TID_{bits(64):016x} "-" "-" "-"'
        )
        if garbage_cut and (x >> 60) & 0xFFFF < garbage_cut:
            line = line[: len(line) // 3]
        yield line


_TYPES = ["https"] * 115 + ["http"] * 64 + ["h2"] * 38 + ["grpcs"] * 26 + ["wss"] * 8 + ["ws"] * 5
_VERSIONS = {t: "HTTP/2.0" if t in ("h2", "grpcs") else "HTTP/1.1" for t in set(_TYPES)}
_TLS = [f"{c} TLSv1.{v}" for c in _CIPHERS for v in (2, 3)] + ["ECDHE-RSA-AES256-SHA TLSv1"] * 2
_CLASSIFICATIONS = ['"-" "-"'] * 126 + [
    '"Ambiguous" "UndefinedContentLengthSemantics"',
    '"Severe" "BadContentLength"',
]
_SNI = f'"{_HOST}" "{_CERT}"'
_NO_SNI = '"-" "-"'
