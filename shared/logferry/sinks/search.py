"""Search sink: Elasticsearch / OpenSearch bulk indexing that never loses a document silently.

Each event becomes one ``index`` action with ``_id`` = :attr:`Event.id` (deterministic, so a
redelivered object overwrites instead of duplicating) into ``<prefix>-<dataset>-YYYY.MM.DD``
by the event's own UTC time. Batches are cut by bytes (default 5 MiB) and count. Items the
engine answers with 429 or 5xx, and whole requests that fail with 429/5xx or a connection
error, are retried with exponential backoff and full jitter; a request answered 413 is split
in half; items rejected with another 4xx (mapping errors) or still failing after the retries
come back from :meth:`SearchSink.take_failures` with the engine's error type and reason.

The bulk body is joined from bytes made once per event (:mod:`logferry.sinks.bulk`) and sent
through the client's own transport. Full batches go to sender threads (:mod:`.inflight`):
up to ``in_flight`` requests run while the caller parses the next batch; ``add`` blocks when
they are all busy, ``flush`` waits for them. Every request's timeout, and every backoff
sleep, ends by the sink's deadline; past it, what is queued or unsent fails with a reason
that starts with ``deadline`` (the pipeline parks it) instead of being sent.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import elastic_transport
import elasticsearch
import opensearchpy
import orjson
from elasticsearch import serializer as es_serializer

from logferry.deadline import DeadlineExceeded
from logferry.model import Event
from logferry.serialize import clean, find_poison, representable
from logferry.sinks import Failure, SinkBase
from logferry.sinks.bulk import ActionLines, BulkItem, Rejection, bulk_body, bulk_transport
from logferry.sinks.inflight import InFlight
from logferry.sinks.options import DEFAULT_IN_FLIGHT, DEFAULT_REQUEST_TIMEOUT, SearchOptions
from logferry.sinks.retry import backoff_delay, retryable_status

log = logging.getLogger(__name__)

DEFAULT_INDEX_PATTERN = "{prefix}-{dataset}-{date:%Y.%m.%d}"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DOCS = 5_000
TEMPLATE_FILE = Path(__file__).with_name("index_template.json")
ENGINES = ("elasticsearch", "opensearch")
_INVALID_INDEX_CHARS = re.compile(r"[^a-z0-9._+-]+")

SearchClient = elasticsearch.Elasticsearch | opensearchpy.OpenSearch


# -- serialization ---------------------------------------------------------------------------
class _EsOrjson(es_serializer.OrjsonSerializer):
    """The client's JSON (template calls, answers) by orjson; what orjson refuses falls back
    to the client's ``json``. Bulk bodies are bytes already (:mod:`logferry.sinks.bulk`)."""

    def json_dumps(self, data: Any) -> bytes:
        try:
            return orjson.dumps(data, default=self.default)
        except TypeError:
            return elastic_transport.JsonSerializer.json_dumps(self, data)


class _OsOrjson(opensearchpy.JSONSerializer):
    """:class:`_EsOrjson` for the OpenSearch client: bodies already bytes or text pass as
    they are, answers are parsed by orjson."""

    def loads(self, s: Any) -> Any:
        return orjson.loads(s)

    def dumps(self, data: Any) -> Any:
        if isinstance(data, str | bytes):
            return data
        try:
            return orjson.dumps(data, default=self.default).decode()
        except TypeError:
            return super().dumps(data)


# -- authentication ------------------------------------------------------------------------
@dataclass(frozen=True)
class BasicAuth:
    """HTTP basic authentication (the password is kept out of ``repr``)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ApiKeyAuth:
    """An API key, sent as ``Authorization: ApiKey <key>`` (base64 ``id:key`` form)."""

    api_key: str = field(repr=False)


@dataclass(frozen=True)
class SigV4Auth:
    """AWS SigV4 signing for Amazon OpenSearch Service (``es``) or Serverless (``aoss``)."""

    region: str
    service: str = "es"


SearchAuth = BasicAuth | ApiKeyAuth | SigV4Auth | None


def load_search_auth(secret_arn: str, secrets_client: Any = None) -> BasicAuth | ApiKeyAuth:
    """Read search credentials from a Secrets Manager secret.

    The secret string is JSON: ``{"username": ..., "password": ...}`` or ``{"api_key": ...}``.
    """
    if secrets_client is None:
        import boto3

        secrets_client = boto3.client("secretsmanager")
    raw = secrets_client.get_secret_value(SecretId=secret_arn)["SecretString"]
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError(f"secret {secret_arn}: SecretString is not JSON") from None
    if isinstance(data, dict) and data.get("api_key"):
        return ApiKeyAuth(str(data["api_key"]))
    if isinstance(data, dict) and data.get("username") and data.get("password"):
        return BasicAuth(str(data["username"]), str(data["password"]))
    raise ValueError(f"secret {secret_arn}: expected keys username+password or api_key")


def make_client(
    url: str, engine: str, auth: SearchAuth = None, *, timeout: float = 30.0
) -> SearchClient:
    """A client for ``url``: Elasticsearch 8 or OpenSearch, with the transport's retries off."""
    if engine == "elasticsearch":
        if isinstance(auth, SigV4Auth):
            raise ValueError(
                "sigv4 auth signs for Amazon OpenSearch Service: use engine opensearch"
            )
        es_kwargs: dict[str, Any] = {
            "request_timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "serializer": _EsOrjson(),
        }
        if isinstance(auth, BasicAuth):
            es_kwargs["basic_auth"] = (auth.username, auth.password)
        elif isinstance(auth, ApiKeyAuth):
            es_kwargs["api_key"] = auth.api_key
        return elasticsearch.Elasticsearch(url, **es_kwargs)
    if engine == "opensearch":
        os_kwargs: dict[str, Any] = {
            "hosts": [url],
            "timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "serializer": _OsOrjson(),
        }
        if isinstance(auth, BasicAuth):
            os_kwargs["http_auth"] = (auth.username, auth.password)
        elif isinstance(auth, ApiKeyAuth):
            os_kwargs["headers"] = {"Authorization": f"ApiKey {auth.api_key}"}
        elif isinstance(auth, SigV4Auth):
            os_kwargs["http_auth"] = _sigv4_signer(auth)
            os_kwargs["connection_class"] = opensearchpy.RequestsHttpConnection
        return opensearchpy.OpenSearch(**os_kwargs)
    raise ValueError(f"unknown search engine {engine!r}; expected one of {ENGINES}")


def client_for(options: SearchOptions) -> SearchClient:
    """A client for ``SEARCH_URL`` with the configured engine and authentication."""
    from logferry.config import ConfigError

    if not options.url:
        raise ConfigError("SEARCH_URL is not set: the search sink needs an endpoint")
    auth: SearchAuth = None
    if options.auth_mode == "secret" and options.secret_arn:
        auth = load_search_auth(options.secret_arn)
    elif options.auth_mode == "sigv4":
        import boto3

        auth = SigV4Auth(region=boto3.session.Session().region_name or "us-east-1")
    return make_client(options.url, options.engine, auth)


def _sigv4_signer(auth: SigV4Auth) -> opensearchpy.AWSV4SignerAuth:
    import boto3

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ValueError(f"sigv4 auth for {auth.service} in {auth.region}: no AWS credentials")
    return opensearchpy.AWSV4SignerAuth(credentials, auth.region, auth.service)


# -- engine adapters (index template) ---------------------------------------------------------
class _Backend(Protocol):
    errors: tuple[type[Exception], ...]
    refusals: tuple[type[Exception], ...]
    """What a 400 answer raises: the engine does not know a setting or field type."""

    def template_version(self, name: str, timeout: float) -> int | None: ...

    def put_template(self, name: str, body: dict[str, Any], timeout: float) -> None: ...


@dataclass
class _Elasticsearch:
    client: elasticsearch.Elasticsearch
    errors: tuple[type[Exception], ...] = (elasticsearch.ApiError, elastic_transport.TransportError)
    refusals: tuple[type[Exception], ...] = (elasticsearch.BadRequestError,)

    def template_version(self, name: str, timeout: float) -> int | None:
        try:
            found = (
                self.client.options(request_timeout=timeout)
                .indices.get_index_template(name=name)
                .body
            )
        except elasticsearch.NotFoundError:
            return None
        return _version_of(found)

    def put_template(self, name: str, body: dict[str, Any], timeout: float) -> None:
        self.client.options(request_timeout=timeout).indices.put_index_template(name=name, **body)


@dataclass
class _OpenSearch:
    client: opensearchpy.OpenSearch
    errors: tuple[type[Exception], ...] = (opensearchpy.TransportError,)
    refusals: tuple[type[Exception], ...] = (opensearchpy.RequestError,)

    def template_version(self, name: str, timeout: float) -> int | None:
        try:
            found = self.client.indices.get_index_template(name=name, request_timeout=timeout)
        except opensearchpy.NotFoundError:
            return None
        return _version_of(found)

    def put_template(self, name: str, body: dict[str, Any], timeout: float) -> None:
        self.client.indices.put_index_template(name=name, body=body, request_timeout=timeout)


def _version_of(found: dict[str, Any]) -> int | None:
    templates = found.get("index_templates") or [{}]
    version = templates[0].get("index_template", {}).get("version")
    return int(version) if version is not None else None


def _backend(client: SearchClient) -> _Backend:
    if isinstance(client, elasticsearch.Elasticsearch):
        return _Elasticsearch(client)
    return _OpenSearch(client)


def index_template(
    patterns: Sequence[str],
    replicas: int = 0,
    path: Path = TEMPLATE_FILE,
    refresh_interval: str | None = None,
    index_mode: str = "standard",
) -> dict[str, Any]:
    """The cheapest composable index template for logferry's ECS documents (ES 8 with
    mapper-extras); :func:`template_variants` gives what older or other engines accept."""
    body: dict[str, Any] = json.loads(path.read_text())
    body["index_patterns"] = list(patterns)
    settings = body["template"]["settings"]
    settings["number_of_replicas"] = replicas
    if refresh_interval:
        settings["refresh_interval"] = refresh_interval
    if index_mode != "standard":
        settings["mode"] = index_mode
    return body


def template_variants(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``body`` and its fallbacks, cheapest first: ``match_only_text`` as plain ``text``
    (no mapper-extras module, OpenSearch < 2.12), no ``index.mode: logsdb`` (OpenSearch,
    Elasticsearch < 8.17), then neither."""
    plain = _plain_text(body)
    variants = [body, plain, _without_index_mode(body), _without_index_mode(plain)]
    return [v for n, v in enumerate(variants) if v not in variants[:n]]


def _plain_text(node: Any) -> Any:
    """A copy of ``node`` with every ``match_only_text`` mapping as norm-less ``text``."""
    if isinstance(node, dict):
        if node.get("type") == "match_only_text":
            return {**node, "type": "text", "norms": False}
        return {key: _plain_text(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain_text(value) for value in node]
    return node


def _without_index_mode(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` without ``index.mode`` (stored ``_source``, no index sort)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    copy["template"]["settings"].pop("mode", None)
    return copy


# -- the sink ----------------------------------------------------------------------------------
def _status(info: dict[str, Any]) -> int | None:
    status = info.get("status")
    return status if isinstance(status, int) else None


def _all_too_large(rejected: list[Rejection], sent: int) -> bool:
    """True when the whole request was refused with 413 (split it and send the halves)."""
    return len(rejected) == sent and all(_status(info) == 413 for _, info in rejected)


def _reason(item: BulkItem, info: dict[str, Any]) -> str:
    """``<status> <error type>: <reason>`` plus the index and id the item was going to."""
    error = info.get("error")
    status = info.get("status") or "no answer"
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused = error.get("caused_by")
        if isinstance(caused, dict):
            text += f" (caused by {caused.get('type')}: {caused.get('reason')})"
    else:
        text = str(error)
    return f"{status} {text} [index {item.index}, id {item.id}]"


def _error_type(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return str(error.get("type", "error"))
    status = info.get("status")
    return f"http_{status}" if isinstance(status, int) else "connection_error"


@dataclass(slots=True)
class _Work:
    """Items still to send in one request, the attempt it is, and why they failed last."""

    items: list[BulkItem]
    attempt: int = 0
    last: list[dict[str, Any]] | None = None


class SearchSink(SinkBase):
    """Bulk-index events into Elasticsearch or OpenSearch (see the module docstring)."""

    name = "search"
    needs_documents = True

    def __init__(
        self,
        client: SearchClient,
        *,
        prefix: str = "logferry",
        index_pattern: str = DEFAULT_INDEX_PATTERN,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_docs: int = DEFAULT_MAX_DOCS,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        in_flight: int = DEFAULT_IN_FLIGHT,
        replicas: int = 0,
        refresh_interval: str | None = None,
        index_mode: str = "standard",
        install_template: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if _INVALID_INDEX_CHARS.search(prefix) or not prefix or prefix[0] in "-_+.":
            raise ValueError(f"index prefix {prefix!r}: use lowercase a-z, 0-9, '.', '_', '-'")
        if max_bytes < 1 or max_docs < 1:
            raise ValueError(f"max_bytes={max_bytes}, max_docs={max_docs}: both must be >= 1")
        super().__init__()
        self.prefix = prefix
        self.index_pattern = index_pattern
        self.max_bytes = max_bytes
        self.max_docs = max_docs
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.request_timeout = request_timeout
        self.replicas = replicas
        self.refresh_interval = refresh_interval
        self.index_mode = index_mode
        self._backend = _backend(client)
        self._transport = bulk_transport(client)
        self._senders = InFlight(in_flight, "search-bulk")
        self._template_pending = install_template
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lines = ActionLines()
        self._pending: list[BulkItem] = []
        self._pending_bytes = 0
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        """Guards stats, failures and the rng, which the sender threads share."""
        self._index_cache: dict[tuple[str, int], str] = {}

    # -- Sink protocol ------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        """Queue one event, handing the batch to a sender first if it would overfill it
        (blocks while ``in_flight`` requests are unfinished)."""
        document = event.document_json
        if document is None and (document := self._serialize(event)) is None:
            return
        item = self._lines.item(event, self.index_for(event), document)
        if self._pending and (
            self._pending_bytes + len(item.lines) > self.max_bytes
            or len(self._pending) >= self.max_docs
        ):
            self._send_pending()
        self._pending.append(item)
        self._pending_bytes += len(item.lines)

    def _serialize(self, event: Event) -> bytes | None:
        """The document's JSON; ``None`` (and the event parked) if the serializer refuses it.

        The pipeline serializes (and mends) every document before the sinks see it: this is
        for events that bypassed it (replayed, wrapped sinks' own documents).
        """
        try:
            return orjson.dumps(event.document)
        except TypeError:
            found = "; ".join(f"{p.field}: {p.reason}" for p in find_poison(event.document))
            document, message = clean(event.document), representable(event.message)
            mended = Event(event.id, event.timestamp_ms, document, message)
            with self._lock:
                self._failures.append(Failure(mended, f"search: serializer refuses {found}"))
                self.stats.failed += 1
                self._count("unserializable")
            return None

    def flush(self) -> None:
        """Send everything queued and wait for every request in flight. Nothing stays
        queued, even when this raises: what was not handed to a sender is a failure."""
        try:
            if self._pending:
                self._send_pending()
        finally:
            self._senders.wait()

    def take_failures(self) -> list[Failure]:
        """Return (and forget) the events that could not be indexed since the last call."""
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    # -- naming ---------------------------------------------------------------------------------
    def index_for(self, event: Event) -> str:
        """``index_pattern`` filled from the prefix, event.dataset and the event's UTC day."""
        dataset = (event.document.get("event") or {}).get("dataset") or "unknown"
        day = event.timestamp_ms // 86_400_000
        key = (str(dataset), day)
        name = self._index_cache.get(key)
        if name is None:
            clean = _INVALID_INDEX_CHARS.sub("-", str(dataset).lower()).strip("-_+.") or "unknown"
            date = datetime.fromtimestamp(day * 86_400, tz=UTC)
            name = self.index_pattern.format(prefix=self.prefix, dataset=clean, date=date)
            self._index_cache[key] = name
        return name

    # -- sending ----------------------------------------------------------------------------------
    def _send_pending(self) -> None:
        """Hand the queued batch to a sender thread; past the deadline, fail it instead."""
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        started = False
        try:
            if self.deadline.expired():
                return self._fail_all(batch, "deadline: passed before the batch was sent")
            self._ensure_template()
            started = self._senders.submit(lambda: self._ship(batch), self._wait_limit())
            if not started:
                self._fail_all(batch, "deadline: passed waiting for a request slot")
        except BaseException as exc:
            if not started:
                self._fail_all(batch, f"search: not sent: {type(exc).__name__}: {exc}")
            raise

    def _wait_limit(self) -> float | None:
        left = self.deadline.left()
        return None if math.isinf(left) else max(left, 0.0)

    def _ensure_template(self) -> None:
        """Install the index template once per sink lifetime, unless a newer one is there."""
        if not self._template_pending:
            return
        body = index_template(
            [f"{self.prefix}-*"],
            self.replicas,
            refresh_interval=self.refresh_interval,
            index_mode=self.index_mode,
        )
        errors: tuple[type[Exception], ...] = (*self._backend.errors, DeadlineExceeded)
        try:
            timeout = self.deadline.timeout(self.request_timeout)
            current = self._backend.template_version(self.prefix, timeout)
            if current is None or current < body["version"]:
                self._put_accepted(template_variants(body))
            self._template_pending = False
        except errors as exc:
            with self._lock:
                self._count("template_errors")
            log.warning(
                "search: index template %s not installed (will retry): %s", self.prefix, exc
            )

    def _put_accepted(self, variants: list[dict[str, Any]]) -> None:
        """Put the first (cheapest) variant the engine accepts; it refuses an unknown setting
        or field type with 400. A refusal of the last one raises."""
        *cheaper, last = variants
        for body in cheaper:
            try:
                self._backend.put_template(
                    self.prefix, body, self.deadline.timeout(self.request_timeout)
                )
                return
            except self._backend.refusals as exc:
                log.info("search: index template %s variant refused: %s", self.prefix, exc)
        self._backend.put_template(self.prefix, last, self.deadline.timeout(self.request_timeout))

    def _ship(self, batch: list[BulkItem]) -> None:
        """Send ``batch`` (in a sender thread), retrying transient rejections and splitting
        on 413; every item ends shipped or failed, even if this code itself raised."""
        work = [_Work(batch)]
        try:
            while work:
                self._attempt(work.pop(), work)
        except Exception as exc:  # a bug here must not lose the batch: park what is left
            log.exception("search: sender failed")
            for left in work:
                self._fail_all(left.items, f"search: sender failed: {type(exc).__name__}: {exc}")

    def _attempt(self, step: _Work, work: list[_Work]) -> None:
        """One request for ``step``; what must be sent again goes onto ``work``."""
        items = step.items
        try:
            timeout = self.deadline.timeout(self.request_timeout)
        except DeadlineExceeded as exc:
            return self._fail_late(step, f"deadline: {exc}, not sent")
        work.append(step)  # still owned by the work list if the request raises
        rejected = self._request(items, timeout)
        work.pop()
        if len(items) > 1 and _all_too_large(rejected, len(items)):
            half = len(items) // 2
            work += [_Work(items[half:]), _Work(items[:half])]  # the first half goes first
            return
        retry: list[BulkItem] = []
        why: list[dict[str, Any]] = []
        for position, info in rejected:
            if retryable_status(_status(info)) and step.attempt < self.max_retries:
                retry.append(items[position])
                why.append(info)
            else:
                self._fail(items[position], info)
        if not retry:
            return
        again = _Work(retry, step.attempt + 1, why)
        with self._lock:
            delay = backoff_delay(again.attempt, self.backoff_base, self.backoff_cap, self._rng)
        if delay >= self.deadline.left():
            return self._fail_late(again, "deadline: no time left to retry")
        with self._lock:
            self.stats.retries += 1
        self._sleep(delay)
        work.append(again)

    def _request(self, items: list[BulkItem], timeout: float) -> list[Rejection]:
        """One bulk request; counts the shipped items, returns the rejected ones."""
        body = bulk_body(items)
        rejected = self._transport.bulk(body, len(items), timeout)
        refused = {position for position, _ in rejected}
        shipped = len(items) - len(refused)
        sent = (
            len(body)
            if not refused
            else sum(len(item.lines) for n, item in enumerate(items) if n not in refused)
        )
        with self._lock:
            self.stats.calls += 1
            self.stats.shipped += shipped
            self.stats.bytes += sent
        return rejected

    def _fail_late(self, step: _Work, reason: str) -> None:
        """Fail ``step``'s items for the deadline, with the answer each got last, if any."""
        if step.last is None:
            return self._fail_all(step.items, reason)
        for item, info in zip(step.items, step.last, strict=True):
            self._record(item, f"{reason}; last answer {_reason(item, info)}", "deadline")

    def _fail_all(self, items: list[BulkItem], reason: str) -> None:
        kind = "deadline" if reason.startswith("deadline") else "not_sent"
        for item in items:
            self._record(item, f"{reason} [index {item.index}, id {item.id}]", kind)

    def _fail(self, item: BulkItem, info: dict[str, Any]) -> None:
        self._record(item, f"search: {_reason(item, info)}", _error_type(info))

    def _record(self, item: BulkItem, reason: str, kind: str) -> None:
        with self._lock:
            self._failures.append(Failure(item.event(), reason))
            self.stats.failed += 1
            self._count(kind)

    def _count(self, kind: str) -> None:
        """Add one to ``stats.extra[kind]`` (the caller holds the lock)."""
        self.stats.extra[kind] = self.stats.extra.get(kind, 0) + 1
