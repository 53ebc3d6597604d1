"""Presigned upload URLs for on-prem servers (``scripts/log2aws.sh`` -> API -> S3 PUT).

Pure pieces (request validation, allowlist parsing and matching, request signatures, object
keys) are plain functions; :func:`handle` wires them with an S3 client, an
:class:`AllowlistCache` and the per-server keys (:class:`ServerKeys`) and always returns an
:class:`ApiResponse`, never raises.

Each server signs its request with its own key (HMAC-SHA256 over :func:`string_to_sign`,
the key in Secrets Manager as ``<SERVER_KEY_PREFIX><server>``), so an allowlisted address
only gets URLs for the server whose key it holds; the URL is bound to the declared size and
SHA-256 of the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from logferry.config import ConfigError, load, option

log = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SERVER_MAX_LEN = 64
MAX_PUT_BYTES = 5 * 1024**3  # S3's single-PUT limit
# The earliest and latest time zones are UTC-12 and UTC+14: a date is "in the future"
# only when it has not started anywhere on Earth yet.
LATEST_TZ_OFFSET = timedelta(hours=14)
_SERVER_RE = re.compile(r"(?![.-])[A-Za-z0-9._-]{1,64}")
_DATE_RES = (
    re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"),
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
)
_HEX64_RE = re.compile(r"[0-9a-fA-F]{64}")
_KEY_RE = re.compile(r"(?:[0-9a-fA-F]{2}){16,}")
SIGNATURE_VERSION = "logferry-upload-v1"
MAX_CLOCK_SKEW_SECONDS = 300
"""How far a request's ``ts`` may be from the function's clock."""
_TRUE = {"1", "true", "yes", "gzip"}


class UploadError(Exception):
    """A request refused with an HTTP ``status`` and a machine-readable ``code``."""

    def __init__(self, status: int, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason or code  # for the decision log: it may say more than the caller hears


def _bad(code: str, message: str) -> UploadError:
    return UploadError(400, code, message)


@dataclass(frozen=True)
class UploadRequest:
    """A validated upload request."""

    server: str
    day: date
    compressed: bool
    size: int
    sha256_b64: str

    @property
    def key(self) -> str:
        """The object key below the upload prefix."""
        return object_key(self.server, self.day, compressed=self.compressed)


def object_key(server: str, day: date, *, compressed: bool = False) -> str:
    """``<server>/<YYYY-MM-DD>.log`` (``.log.gz`` when compressed)."""
    return f"{server}/{day.isoformat()}.log{'.gz' if compressed else ''}"


def parse_server(value: str | None) -> str:
    """A server name: ``[A-Za-z0-9._-]``, 1-64 chars, not starting with ``.``/``-``, no ``..``."""
    if not value:
        raise _bad("missing_server", "query parameter 'server' is required")
    if len(value) > SERVER_MAX_LEN:
        raise _bad("invalid_server", f"server name longer than {SERVER_MAX_LEN} characters")
    if not _SERVER_RE.fullmatch(value) or ".." in value:
        raise _bad(
            "invalid_server",
            "server name must use only A-Z a-z 0-9 . _ -, not start with . or - and not contain ..",
        )
    return value


def parse_date(value: str | None, *, now: datetime, max_age_days: int) -> date:
    """A real calendar date (YYYY-MM-DD or YYYYMMDD), not in the future, at most
    ``max_age_days`` before today (UTC)."""
    if not value:
        raise _bad("missing_date", "query parameter 'date' is required")
    match = next((m for r in _DATE_RES if (m := r.fullmatch(value))), None)
    if match is None:
        raise _bad("invalid_date", f"date {value!r} is not YYYY-MM-DD or YYYYMMDD")
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        raise _bad("invalid_date", f"date {value!r} is not a calendar date") from None
    now_utc = now.astimezone(UTC)
    if day > (now_utc + LATEST_TZ_OFFSET).date():
        raise _bad("future_date", f"date {day} is in the future")
    if day < now_utc.date() - timedelta(days=max_age_days):
        raise _bad("date_too_old", f"date {day} is more than {max_age_days} days old")
    return day


def parse_sha256(value: str) -> str:
    """A SHA-256 digest given as 64 hex digits or standard base64, returned as base64."""
    if _HEX64_RE.fullmatch(value):
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise _bad("invalid_sha256", "sha256 must be 64 hex digits or 44 base64 characters")
    return base64.b64encode(digest).decode("ascii")


def parse_size(value: str) -> int:
    """A declared body length in bytes: 0 to 5 GiB."""
    if not value.isascii() or not value.isdigit() or int(value) > MAX_PUT_BYTES:
        raise _bad("invalid_size", f"size must be an integer from 0 to {MAX_PUT_BYTES}")
    return int(value)


def _required(query: Mapping[str, str], name: str, why: str) -> str:
    value = query.get(name)
    if not value:
        raise _bad(f"missing_{name}", f"query parameter {name!r} is required ({why})")
    return value


def parse_request(query: Mapping[str, str], *, now: datetime, max_age_days: int) -> UploadRequest:
    """Validate the query string of ``GET /?server=&date=&size=&sha256=[&gzip=1]`` (the
    signature parameters are checked by :func:`verify_signature`)."""
    server = parse_server(query.get("server"))
    day = parse_date(query.get("date"), now=now, max_age_days=max_age_days)
    compressed = (
        query.get("gzip", "").lower() in _TRUE or query.get("compression", "").lower() == "gzip"
    )
    size = parse_size(_required(query, "size", "the body's length in bytes"))
    sha = parse_sha256(_required(query, "sha256", "the body's SHA-256"))
    return UploadRequest(server, day, compressed, size, sha)


def string_to_sign(request: UploadRequest, timestamp: int) -> bytes:
    """What a server signs: the version, server, date, gzip flag, size, SHA-256 (hex) and
    the Unix time of the request, one per line."""
    sha_hex = base64.b64decode(request.sha256_b64).hex()
    fields = (
        SIGNATURE_VERSION,
        request.server,
        request.day.isoformat(),
        "1" if request.compressed else "0",
        str(request.size),
        sha_hex,
        str(timestamp),
    )
    return "\n".join(fields).encode("utf-8")


def sign(key: bytes, request: UploadRequest, timestamp: int) -> str:
    """The request's signature with ``key``: HMAC-SHA256 of :func:`string_to_sign`, hex."""
    return hmac.new(key, string_to_sign(request, timestamp), hashlib.sha256).hexdigest()


def parse_keys(text: str, where: str) -> list[bytes]:
    """The keys in a secret value: hex strings of at least 16 bytes, separated by white space
    (two during a rotation); a malformed one raises ``ValueError`` naming ``where``."""
    keys: list[bytes] = []
    for number, item in enumerate(text.split(), start=1):
        if not _KEY_RE.fullmatch(item):
            raise ValueError(f"{where}: key {number} is not at least 32 hex digits")
        keys.append(bytes.fromhex(item))
    return keys


@dataclass
class ServerKeys:
    """Per-server keys, fetched lazily through ``fetch(server)`` (the secret's value, or None
    when the server has no secret) and kept ``ttl_seconds``."""

    fetch: Callable[[str], str | None]
    ttl_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    name_of: Callable[[str], str] = str
    _cache: dict[str, tuple[list[bytes], float]] = field(default_factory=dict, init=False)

    def keys(self, server: str) -> list[bytes]:
        """The keys of ``server`` (empty when it has none)."""
        now = self.clock()
        cached = self._cache.get(server)
        if cached is None or now >= cached[1]:
            text = self.fetch(server)
            keys = [] if text is None else parse_keys(text, f"secret {self.name_of(server)}")
            cached = self._cache[server] = (keys, now + self.ttl_seconds)
        return cached[0]


def _denied(code: str, message: str) -> UploadError:
    return UploadError(403, code, message)


def verify_signature(
    request: UploadRequest, query: Mapping[str, str], keys: ServerKeys, *, now: datetime
) -> None:
    """Check ``signature`` and ``ts`` of the query against ``request.server``'s keys; a
    refusal is a 403 whose code and message say why."""
    server = request.server
    signature = query.get("signature", "").lower()
    if not signature:
        raise _denied(
            "signature_required",
            f"query parameter 'signature' is required: sign the request with server "
            f"{server!r}'s key (log2aws.sh does, from LOG2AWS_KEY_FILE)",
        )
    raw_ts = query.get("ts", "")
    if not raw_ts.isascii() or not raw_ts.isdigit():
        raise _denied("signature_required", "query parameter 'ts' (Unix seconds) is required")
    skew = abs(now.timestamp() - int(raw_ts))
    if skew > MAX_CLOCK_SKEW_SECONDS:
        raise _denied(
            "stale_signature",
            f"request signed at ts={raw_ts}, {skew:.0f} s from the API's clock "
            f"(at most {MAX_CLOCK_SKEW_SECONDS} s): check the server's clock",
        )
    known = keys.keys(server)
    if not any(hmac.compare_digest(sign(key, request, int(raw_ts)), signature) for key in known):
        raise UploadError(  # the caller is not told whether the server has a key at all
            403,
            "bad_signature",
            f"signature does not match server {server!r}'s key: a server may only ask "
            "for URLs of its own logs",
            reason="bad_signature" if known else "unknown_server",
        )


def parse_allowlist(text: str) -> tuple[list[IpNetwork], list[str]]:
    """Parse CIDRs / addresses separated by commas or newlines, strictly: an entry with host
    bits set (``10.1.2.7/8``) is refused, not widened.

    Returns ``(networks, refusals)``, each refusal a message naming its entry; blank entries
    are ignored.
    """
    networks: list[IpNetwork] = []
    invalid: list[str] = []
    for entry in re.split(r"[,\n]", text):
        item = entry.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            invalid.append(_allowlist_refusal(item, exc))
    return networks, invalid


def _allowlist_refusal(item: str, exc: ValueError) -> str:
    try:
        widened = ipaddress.ip_network(item, strict=False)
    except ValueError:
        return f"allowlist entry {item!r} is not an IP network ({exc})"
    host = item.split("/", 1)[0]
    return (
        f"allowlist entry {item!r} has host bits set: write {widened} for the network or "
        f"{host}/{widened.max_prefixlen} for the one address"
    )


def ip_allowed(ip: str, networks: Iterable[IpNetwork]) -> bool:
    """True if ``ip`` lies in one of ``networks``; a malformed ``ip`` is never allowed."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)


@dataclass
class AllowlistCache:
    """Fetches the allowlist text lazily through ``fetch`` and keeps it ``ttl_seconds``."""

    fetch: Callable[[], str]
    ttl_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _networks: list[IpNetwork] = field(default_factory=list, init=False)
    _expires: float | None = field(default=None, init=False)

    def networks(self) -> list[IpNetwork]:
        """The current allowlist, refreshed when older than the TTL."""
        now = self.clock()
        if self._expires is None or now >= self._expires:
            networks, invalid = parse_allowlist(self.fetch())
            for refusal in invalid:
                log.error("%s; the entry allows nobody", refusal)
            if not networks:
                log.warning("allowlist is empty: every upload request will be denied")
            self._networks, self._expires = networks, now + self.ttl_seconds
        return self._networks


def ssm_fetcher(ssm_client: Any, name: str) -> Callable[[], str]:
    """A fetch function reading SSM parameter ``name`` (String or StringList)."""

    def fetch() -> str:
        return str(ssm_client.get_parameter(Name=name)["Parameter"]["Value"])

    return fetch


def secret_fetcher(secrets_client: Any, prefix: str) -> Callable[[str], str | None]:
    """A fetch function reading secret ``<prefix><server>``; None when it does not exist."""

    def fetch(server: str) -> str | None:
        try:
            found = secrets_client.get_secret_value(SecretId=prefix + server)
        except secrets_client.exceptions.ResourceNotFoundException:
            return None
        return str(found.get("SecretString") or "")

    return fetch


@dataclass(frozen=True)
class Settings:
    """Configuration of the upload-URL function (from environment variables)."""

    raw_bucket: str = option("RAW_BUCKET", "", "the raw bucket uploads go to", required=True)
    allowlist_param: str = option(
        "ALLOWLIST_PARAM", "", "SSM parameter listing the CIDRs allowed to ask", required=True
    )
    server_key_prefix: str = option(
        "SERVER_KEY_PREFIX",
        "",
        "Secrets Manager name prefix of the per-server keys (`<prefix><server>`)",
        required=True,
    )
    upload_prefix: str = option(
        "UPLOAD_PREFIX", "", "key prefix of uploads (ends with `/`, does not start with one)"
    )
    url_ttl_seconds: int = option(
        "URL_TTL_SECONDS", 300, "lifetime of a presigned URL", kind="positive"
    )
    allowlist_ttl_seconds: int = option(
        "ALLOWLIST_TTL_SECONDS", 60, "how long the allowlist is cached", kind="positive"
    )
    max_age_days: int = option(
        "MAX_AGE_DAYS", 31, "oldest log date a URL is given for", kind="positive"
    )

    def __post_init__(self) -> None:
        prefix = self.upload_prefix
        if prefix and (prefix.startswith("/") or not prefix.endswith("/")):
            raise ConfigError(f"UPLOAD_PREFIX={prefix!r} must end with '/' and not start with '/'")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings in ``env``; a missing or malformed value raises an error naming it."""
        return load(cls, env)


def presign_put(
    s3_client: Any, bucket: str, request: UploadRequest, ttl: int, *, prefix: str = ""
) -> dict[str, Any]:
    """The response body: a presigned PUT of ``prefix + request.key``, bound to the declared
    length and checksum.

    ``headers`` lists what the client must send verbatim: they are in X-Amz-SignedHeaders,
    so S3 refuses a request without them, and refuses a body that does not match them
    (400 BadDigest for the checksum).
    """
    key = prefix + request.key
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "ContentLength": request.size,
        "ChecksumSHA256": request.sha256_b64,
    }
    headers = {
        "Content-Length": str(request.size),
        "x-amz-checksum-sha256": request.sha256_b64,
    }
    url = s3_client.generate_presigned_url(
        "put_object", Params=params, ExpiresIn=ttl, HttpMethod="PUT"
    )
    return {"url": url, "key": key, "expires_in": ttl, "method": "PUT", "headers": headers}


@dataclass(frozen=True)
class ApiRequest:
    """What the handler extracts from an API Gateway event (REST or HTTP API)."""

    method: str
    source_ip: str
    query: Mapping[str, str]
    request_id: str = ""


@dataclass(frozen=True)
class ApiResponse:
    """An HTTP answer plus the decision fields to log as one JSON line."""

    status: int
    body: dict[str, Any]
    decision: dict[str, Any]

    def to_api_gateway(self) -> dict[str, Any]:
        """The Lambda proxy-integration response."""
        return {
            "statusCode": self.status,
            "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
            "body": json.dumps(self.body),
        }


def _error(status: int, code: str, message: str, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if status >= 500:
        body["request_id"] = request_id
    return body


def handle(
    request: ApiRequest,
    *,
    settings: Settings,
    s3_client: Any,
    allowlist: AllowlistCache,
    keys: ServerKeys,
    now: datetime | None = None,
) -> ApiResponse:
    """Decide on one request: 403 (IP), 405 (method), 400 (params), 403 (signature), 200
    or 500."""
    decision: dict[str, Any] = {
        "ip": request.source_ip,
        "server": request.query.get("server"),
        "date": request.query.get("date"),
        "key": None,
    }
    try:
        if not ip_allowed(request.source_ip, allowlist.networks()):
            raise UploadError(403, "ip_not_allowed", f"source IP {request.source_ip} not allowed")
        if request.method.upper() != "GET":
            raise UploadError(405, "method_not_allowed", f"method {request.method} not allowed")
        now = now or datetime.now(UTC)
        upload = parse_request(request.query, now=now, max_age_days=settings.max_age_days)
        verify_signature(upload, request.query, keys, now=now)
        decision["key"] = settings.upload_prefix + upload.key
        body = presign_put(
            s3_client,
            settings.raw_bucket,
            upload,
            settings.url_ttl_seconds,
            prefix=settings.upload_prefix,
        )
    except UploadError as exc:
        decision.update(decision="denied", reason=exc.reason, status=exc.status)
        body = _error(exc.status, exc.code, exc.message, request.request_id)
        return ApiResponse(exc.status, body, decision)
    except Exception as exc:
        log.exception("upload URL request %s failed", request.request_id)
        decision.update(decision="error", reason=type(exc).__name__, status=500)
        body = _error(500, "internal_error", "internal error", request.request_id)
        return ApiResponse(500, body, decision)
    decision.update(decision="allowed", reason="ok", status=200)
    return ApiResponse(200, body, decision)
