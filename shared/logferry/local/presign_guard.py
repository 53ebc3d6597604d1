"""What real S3 checks on a presigned request and moto 5.2.5 does not, as WSGI middleware.

For an S3 request authenticated by query-string SigV4 (``X-Amz-Algorithm=AWS4-HMAC-SHA256``,
``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``,
``X-Amz-Signature``) :class:`PresignGuard` answers like S3 before moto sees it:

- malformed auth parameters: 400 ``AuthorizationQueryParametersError``;
- an access key it has no secret for: 403 ``InvalidAccessKeyId``;
- now > X-Amz-Date + X-Amz-Expires: 403 ``AccessDenied`` "Request has expired";
- a signature that botocore's own ``S3SigV4QueryAuth`` does not reproduce over the request
  as received (method, path, query, signed headers, ``UNSIGNED-PAYLOAD``): 403
  ``SignatureDoesNotMatch`` (a URL reused for another key, a changed signed header);
- a body shorter than its Content-Length: 400 ``IncompleteBody``; an ``x-amz-checksum-sha256``
  that is not the body's SHA-256: 400 ``BadDigest``. The body is hashed while it is spooled
  (to disk past ``spool_bytes``), so memory stays bounded, and moto reads the spooled copy.

Every other request passes through untouched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from urllib.parse import parse_qsl, quote
from uuid import uuid4
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.wsgi import ClosingIterator

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ALGORITHM = "AWS4-HMAC-SHA256"
REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
MAX_EXPIRES = 604_800  # a week: S3's limit for a presigned URL
AMZ_DATE = "%Y%m%dT%H%M%SZ"
CHUNK = 1 << 20
SPOOL_BYTES = 8 << 20
BODY_METHODS = ("PUT", "POST")


class S3Error(Exception):
    """An S3 error answer: HTTP ``status``, ``code``, ``message`` and extra XML fields."""

    def __init__(self, status: int, code: str, message: str, **fields: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def xml(self, request_id: str) -> bytes:
        """S3's ``<Error>`` document."""
        parts = [f"<Code>{self.code}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{name}>{escape(value)}</{name}>" for name, value in self.fields.items()]
        parts += [f"<RequestId>{request_id}</RequestId>", "<HostId>logferry-local</HostId>"]
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{"".join(parts)}</Error>'.encode()


def _query_error(message: str) -> S3Error:
    return S3Error(400, "AuthorizationQueryParametersError", message)


@dataclass(frozen=True)
class QueryAuth:
    """The SigV4 query parameters of one presigned request."""

    params: list[tuple[str, str]]
    access_key: str
    amz_date: str
    signed_at: datetime
    region: str
    expires: int
    signed_headers: list[str]
    signature: str

    @property
    def expires_at(self) -> datetime:
        """The instant the URL stops working."""
        return self.signed_at + timedelta(seconds=self.expires)


def query_auth(query: str) -> QueryAuth | None:
    """The presigned-S3 auth of a query string; None when it is not one (another service's, or
    no ``X-Amz-Algorithm``); :class:`S3Error` when its parameters are malformed."""
    params = parse_qsl(query, keep_blank_values=True)
    fields = dict(params)
    if "X-Amz-Algorithm" not in fields:
        return None
    scope = fields.get("X-Amz-Credential", "").split("/")
    if len(scope) == 5 and scope[3] != "s3":
        return None
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing or fields["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error(
            f"Query-string authentication version 4 requires the {', '.join(REQUIRED)} "
            f"parameters (with X-Amz-Algorithm={ALGORITHM})."
        )
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _query_error("X-Amz-Credential must be <key>/<date>/<region>/s3/aws4_request.")
    try:
        signed_at = datetime.strptime(fields["X-Amz-Date"], AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        message = "X-Amz-Date must be in the ISO8601 Long Format yyyyMMdd'T'HHmmss'Z'"
        raise _query_error(message) from None
    if scope[1] != fields["X-Amz-Date"][:8]:
        raise _query_error("Invalid credential date. Date is not the same as X-Amz-Date.")
    raw_expires = fields["X-Amz-Expires"]
    if not raw_expires.isdigit() or int(raw_expires) > MAX_EXPIRES:
        raise _query_error(
            f"X-Amz-Expires must be a non-negative number of seconds, at most {MAX_EXPIRES}."
        )
    return QueryAuth(
        params=[(k, v) for k, v in params if k != "X-Amz-Signature"],
        access_key=scope[0],
        amz_date=fields["X-Amz-Date"],
        signed_at=signed_at,
        region=scope[2],
        expires=int(raw_expires),
        signed_headers=fields["X-Amz-SignedHeaders"].split(";"),
        signature=fields["X-Amz-Signature"],
    )


def header(environ: Environ, name: str) -> str | None:
    """A request header from a WSGI environ (``Content-Length`` and ``Content-Type`` included)."""
    key = name.upper().replace("-", "_")
    if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
        key = f"HTTP_{key}"
    value = environ.get(key)
    return None if value is None else str(value)


def raw_path(environ: Environ) -> str:
    """The path exactly as the client sent it (percent-encoding kept), as S3 signs it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw).split("?", 1)[0]
    path = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8")
    return quote(path, safe="/~")


def expected_signature(environ: Environ, auth: QueryAuth, secret: str) -> tuple[str, str, str]:
    """(signature, canonical request, string to sign) of the request as S3 recomputes it,
    by botocore's own presigned-URL signer over the headers the URL says were signed."""
    signer = S3SigV4QueryAuth(
        Credentials(auth.access_key, secret), "s3", auth.region, expires=auth.expires
    )
    headers = {
        name: value for name in auth.signed_headers if (value := header(environ, name)) is not None
    }
    request = AWSRequest(
        method=str(environ["REQUEST_METHOD"]),
        url=f"http://{header(environ, 'host') or ''}{raw_path(environ)}",
        headers=headers,
    )
    request.params = auth.params
    request.context["timestamp"] = auth.amz_date
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return signer.signature(string_to_sign, request), canonical, string_to_sign


def check_auth(
    environ: Environ, auth: QueryAuth, secret_keys: Mapping[str, str], now: float
) -> None:
    """Raise the :class:`S3Error` S3 would answer for this presigned request's auth, if any."""
    secret = secret_keys.get(auth.access_key)
    if secret is None:
        raise S3Error(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=auth.access_key,
        )
    server_time = datetime.fromtimestamp(now, UTC)
    if server_time > auth.expires_at:
        raise S3Error(
            403,
            "AccessDenied",
            "Request has expired",
            **{"X-Amz-Expires": str(auth.expires)},
            Expires=auth.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ServerTime=server_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    signature, canonical, string_to_sign = expected_signature(environ, auth, secret)
    if not hmac.compare_digest(signature, auth.signature):
        raise S3Error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=auth.access_key,
            StringToSign=string_to_sign,
            SignatureProvided=auth.signature,
            CanonicalRequest=canonical,
        )


def declared_sha256(environ: Environ) -> bytes | None:
    """The digest in ``x-amz-checksum-sha256``, if sent; 400 InvalidRequest if malformed."""
    value = header(environ, "x-amz-checksum-sha256")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != hashlib.sha256().digest_size:
        raise S3Error(400, "InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid.")
    return digest


@dataclass
class Spooled:
    """A request body copied to a spooled file while hashed."""

    file: IO[bytes]
    size: int
    sha256: bytes


def spool(stream: IO[bytes], length: int | None, *, to_eof: bool, limit: int) -> Spooled:
    """Copy up to ``length`` bytes of ``stream`` (one more when ``to_eof``, to see a longer
    body; all of it when ``length`` is None) into a file kept in memory up to ``limit``."""
    target: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=limit)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    cap = None if length is None else length + (1 if to_eof else 0)
    while cap is None or size < cap:
        chunk = stream.read(CHUNK if cap is None else min(CHUNK, cap - size))
        if not chunk:
            break
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    target.seek(0)
    return Spooled(target, size, digest.digest())


def check_body(environ: Environ, limit: int) -> Spooled:
    """Spool the body; raise the S3 error for a short/long body or a checksum mismatch."""
    expected = declared_sha256(environ)
    raw_length = header(environ, "content-length")
    length = int(raw_length) if raw_length and raw_length.isdigit() else None
    body = spool(
        environ["wsgi.input"],
        length,
        to_eof=bool(environ.get("wsgi.input_terminated")),
        limit=limit,
    )
    try:
        if length is not None and body.size < length:
            raise S3Error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header.",
            )
        if length is not None and body.size > length:
            raise S3Error(400, "InvalidRequest", "The body is longer than its Content-Length.")
        if expected is not None and not hmac.compare_digest(expected, body.sha256):
            raise S3Error(
                400, "BadDigest", "The SHA256 you specified did not match the calculated checksum."
            )
    except S3Error:
        body.file.close()
        raise
    return body


class PresignGuard:
    """WSGI middleware enforcing S3's presigned-URL checks in front of ``app`` (moto).

    ``secret_keys`` maps access key ids to secret keys (the local stack's credentials);
    ``clock`` gives the current time in epoch seconds.
    """

    def __init__(
        self,
        app: WsgiApp,
        secret_keys: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        spool_bytes: int = SPOOL_BYTES,
    ) -> None:
        self.app = app
        self.secret_keys = dict(secret_keys)
        self.clock = clock
        self.spool_bytes = spool_bytes

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Refuse what S3 would refuse; hand everything else to ``app``."""
        try:
            auth = query_auth(str(environ.get("QUERY_STRING", "")))
            if auth is None:
                return self.app(environ, start_response)
            check_auth(environ, auth, self.secret_keys, self.clock())
            needs_body = "content-length" in auth.signed_headers or (
                header(environ, "x-amz-checksum-sha256") is not None
            )
            if environ.get("REQUEST_METHOD") not in BODY_METHODS or not needs_body:
                return self.app(environ, start_response)
            body = check_body(environ, self.spool_bytes)
        except S3Error as error:
            return self.refuse(environ, start_response, error)
        try:
            answer = self.app({**environ, "wsgi.input": body.file}, start_response)
        except BaseException:
            body.file.close()
            raise
        return ClosingIterator(answer, [body.file.close])

    @staticmethod
    def refuse(environ: Environ, start_response: StartResponse, error: S3Error) -> list[bytes]:
        """Answer ``error`` as S3 does (XML body, ``x-amz-request-id``) and log one line."""
        request_id = uuid4().hex[:16].upper()
        body = error.xml(request_id)
        method = str(environ.get("REQUEST_METHOD", ""))
        print(
            f"presign guard: {error.status} {error.code} {method} {raw_path(environ)}",
            file=sys.stderr,
            flush=True,
        )
        start_response(
            f"{error.status} {'Forbidden' if error.status == 403 else 'Bad Request'}",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("x-amz-request-id", request_id),
            ],
        )
        return [b""] if method == "HEAD" else [body]
