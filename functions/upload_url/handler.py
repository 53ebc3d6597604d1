"""Lambda behind ``GET /?server=&date=``: hands on-prem servers a presigned S3 PUT URL.

Thin wiring only; the logic is in :mod:`logferry.upload`. Clients and settings are created
on first use (no AWS call at import time).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from logferry import upload

logger = Logger(service="upload_url")
copy_config_to_registered_loggers(source_logger=logger, include={"logferry"})


@cache
def _wiring() -> tuple[upload.Settings, Any, upload.AllowlistCache, upload.ServerKeys]:
    settings = upload.Settings.from_env(os.environ)
    # "virtual" gives regional https://<bucket>.s3.<region>.amazonaws.com/ URLs (the default
    # global host can redirect, which a plain PUT does not follow); IP endpoints stay path-style.
    s3 = boto3.client(
        "s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    )
    allowlist = upload.AllowlistCache(
        upload.ssm_fetcher(boto3.client("ssm"), settings.allowlist_param),
        ttl_seconds=settings.allowlist_ttl_seconds,
    )
    prefix = settings.server_key_prefix
    keys = upload.ServerKeys(
        upload.secret_fetcher(boto3.client("secretsmanager"), prefix),
        ttl_seconds=settings.allowlist_ttl_seconds,
        name_of=lambda server: prefix + server,
    )
    return settings, s3, allowlist, keys


def api_request(event: dict[str, Any], request_id: str) -> upload.ApiRequest:
    """Method, caller IP and query of a REST (v1) or HTTP API (v2) proxy event."""
    if event.get("version") == "2.0":
        v2 = APIGatewayProxyEventV2(event)
        http = v2.request_context.http
        return upload.ApiRequest(
            http.method, http.source_ip, v2.query_string_parameters, request_id
        )
    v1 = APIGatewayProxyEvent(event)
    return upload.ApiRequest(
        v1.http_method,
        v1.request_context.identity.source_ip,
        v1.query_string_parameters,
        request_id,
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway request; every decision is logged as one JSON line."""
    request_id = getattr(context, "aws_request_id", "")
    try:
        request = api_request(event, request_id)
        settings, s3, allowlist, keys = _wiring()
    except Exception:
        logger.exception("cannot set up the upload URL request")
        response = upload.ApiResponse(
            500,
            {"error": "internal error", "code": "internal_error", "request_id": request_id},
            {"decision": "error", "reason": "setup", "status": 500},
        )
    else:
        response = upload.handle(
            request, settings=settings, s3_client=s3, allowlist=allowlist, keys=keys
        )
    logger.info("upload url decision", extra=response.decision)
    return response.to_api_gateway()
