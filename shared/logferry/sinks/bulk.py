"""The search sink's bulk request: one NDJSON body joined from bytes, sent through the official
client's transport, its answer read per item.

Each item's two lines (action and document) are made once, when the sink queues the event:
the action line is the one ``elasticsearch.helpers`` writes (``{"index":{"_id":..,"_index":..}}``),
the document is the JSON the pipeline already made (:attr:`Event.document_json`). A request is
then ``b"".join`` of its items' lines, sent by the client's own transport (its authentication,
SigV4 signing, TLS and connection pool), with a per-request timeout. The answer is filtered by
the engine to each item's status and error, and parsed by orjson (the clients' serializers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import elasticsearch
import opensearchpy
import orjson

from logferry.model import Event

BULK_PATH = "/_bulk"
BULK_PARAMS = {"filter_path": "errors,items.*.status,items.*.error"}
"""Only what per-item handling reads comes back (every item keeps its status, so answers
stay in request order)."""
NDJSON_HEADERS = {"content-type": "application/x-ndjson", "accept": "application/json"}

Rejection = tuple[int, dict[str, Any]]
"""The position of a rejected item in its request, and the engine's info for it."""


@dataclass(slots=True)
class BulkItem:
    """One queued event as bytes: its NDJSON lines (action + document) and what rebuilds the
    event if it fails. No document dict is kept, so queued batches give the garbage
    collector nothing to traverse (holding the dicts cost ~40 µs per document)."""

    id: str
    timestamp_ms: int
    message: str
    index: str
    lines: bytes
    action_size: int
    """Bytes of the action line, where the document's JSON starts in :attr:`lines`."""

    def event(self) -> Event:
        """The event again (document parsed back from the JSON that was to be indexed)."""
        document = self.lines[self.action_size : -1]
        return Event(
            self.id,
            self.timestamp_ms,
            orjson.loads(document),
            self.message,
            len(document),
            document,
        )


class ActionLines:
    """Makes an item's NDJSON lines; the action line's tail is cached per index name."""

    def __init__(self) -> None:
        self._tails: dict[str, bytes] = {}

    def item(self, event: Event, index: str, document: bytes) -> BulkItem:
        """The item for ``event`` into ``index``, with ``document`` its JSON."""
        tail = self._tails.get(index)
        if tail is None:
            tail = self._tails[index] = b',"_index":' + orjson.dumps(index) + b"}}\n"
        action = b'{"index":{"_id":' + orjson.dumps(event.id) + tail
        lines = b"".join((action, document, b"\n"))
        return BulkItem(event.id, event.timestamp_ms, event.message, index, lines, len(action))


def bulk_body(items: list[BulkItem]) -> bytes:
    """The NDJSON body of one bulk request for ``items``."""
    return b"".join([item.lines for item in items])


def whole_request(count: int, status: int | None, exc: BaseException) -> list[Rejection]:
    """Every item of a request that failed as a whole (``status`` ``None``: no answer)."""
    info = {"status": status, "error": f"{type(exc).__name__}: {exc}"}
    return [(position, info) for position in range(count)]


def rejections(answer: Any, count: int) -> list[Rejection]:
    """The items the engine refused in a bulk answer (``errors`` false: none)."""
    if not isinstance(answer, dict):
        return whole_request(count, None, ValueError(f"bulk answer is not an object: {answer!r}"))
    if not answer.get("errors"):
        if len(answer.get("items") or ()) != count:
            return _miscounted(answer, count)
        return []
    found = answer.get("items") or []
    if len(found) != count:
        return _miscounted(answer, count)
    out: list[Rejection] = []
    for position, result in enumerate(found):
        info: dict[str, Any] = next(iter(result.values()), {})
        status = info.get("status")
        if not (isinstance(status, int) and 200 <= status < 300):
            out.append((position, info))
    return out


def _miscounted(answer: dict[str, Any], count: int) -> list[Rejection]:
    got = len(answer.get("items") or ())
    return whole_request(count, None, ValueError(f"{got} results for {count} actions"))


class BulkTransport(Protocol):
    """Sends one bulk body; never raises for the engine's or the network's failures."""

    def bulk(self, body: bytes, count: int, timeout: float) -> list[Rejection]:
        """Send ``body`` (``count`` items) within ``timeout`` seconds; the refused items."""
        ...


@dataclass
class ElasticsearchBulk:
    """Bulk requests through ``Elasticsearch.perform_request`` (its transport and nodes)."""

    client: elasticsearch.Elasticsearch

    def bulk(self, body: bytes, count: int, timeout: float) -> list[Rejection]:
        """See :class:`BulkTransport`."""
        try:
            answer = self.client.options(request_timeout=timeout).perform_request(
                "POST", BULK_PATH, params=BULK_PARAMS, headers=NDJSON_HEADERS, body=body
            )
        except elasticsearch.ApiError as exc:  # the engine answered the request with >= 400
            return whole_request(count, exc.meta.status, exc)
        except Exception as exc:  # no answer: refused, timed out, TLS, unreadable; retryable
            return whole_request(count, None, exc)
        return rejections(answer.body, count)


@dataclass
class OpenSearchBulk:
    """Bulk requests through ``OpenSearch.transport.perform_request`` (SigV4 included)."""

    client: opensearchpy.OpenSearch

    def bulk(self, body: bytes, count: int, timeout: float) -> list[Rejection]:
        """See :class:`BulkTransport`."""
        try:
            answer = self.client.transport.perform_request(
                "POST",
                BULK_PATH,
                params=dict(BULK_PARAMS),
                headers=NDJSON_HEADERS,
                body=body,
                timeout=timeout,
            )
        except opensearchpy.TransportError as exc:  # status "N/A": no answer
            status = exc.status_code if isinstance(exc.status_code, int) else None
            return whole_request(count, status, exc)
        except Exception as exc:  # unreadable answer and the like; retryable
            return whole_request(count, None, exc)
        return rejections(answer, count)


def bulk_transport(client: elasticsearch.Elasticsearch | opensearchpy.OpenSearch) -> BulkTransport:
    """The bulk sender for ``client``'s engine."""
    if isinstance(client, elasticsearch.Elasticsearch):
        return ElasticsearchBulk(client)
    return OpenSearchBulk(client)
