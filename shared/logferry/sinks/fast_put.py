"""PutLogEvents request bodies serialized in one orjson call instead of botocore's per-event walk.

botocore validates and serializes every InputLogEvent field by field against the service model:
about 15–35 µs per event, more than it takes logferry to parse the line. A PutLogEvents request
is plain JSON on the wire (strings, a long, lists of objects; no blobs or timestamps to convert),
so its body is exactly ``json(params)``. :func:`install` registers two handlers on a client's
event system (public botocore events, documented in the boto3 guide "Extensibility guide"):

- ``before-parameter-build``: keep the full parameters aside and let botocore validate and
  serialize only the first event (so the request still goes through botocore's checks);
- ``before-call``: replace the body botocore built with the full parameters as JSON.

Signing, retries, endpoints and error parsing stay botocore's. Calls with one event are left
alone. The sink has already checked every limit the model would (see ``plan_batches``).
"""

from __future__ import annotations

from typing import Any

import orjson

_STASH = "logferry_put_log_events"
_UNIQUE = "logferry-fast-put-log-events"


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    events = params.get("logEvents")
    if isinstance(events, list) and len(events) > 1:
        context[_STASH] = dict(params)
        params["logEvents"] = events[:1]


def _full_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    original = context.pop(_STASH, None)
    if original is not None:
        params["body"] = orjson.dumps(original)


def install(client: Any) -> None:
    """Make ``client.put_log_events`` serialize its events with orjson (idempotent)."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:  # not a botocore client (a test double): nothing to speed up
        return
    service = client.meta.service_model.service_id.hyphenize()
    events.register(
        f"before-parameter-build.{service}.PutLogEvents", _keep_params, unique_id=_UNIQUE + "-1"
    )
    events.register(f"before-call.{service}.PutLogEvents", _full_body, unique_id=_UNIQUE + "-2")
