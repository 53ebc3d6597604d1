"""Import saved objects into Kibana / OpenSearch Dashboards, and export them to a folder.

Both products take ``POST /api/saved_objects/_import?overwrite=true`` (multipart, field
``file``) and ``POST /api/saved_objects/_export``; Kibana wants a ``kbn-xsrf`` header and
OpenSearch Dashboards ``osd-xsrf``, so every request carries both.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

NDJSON_FILE = Path(__file__).with_name("logferry.ndjson")
EXPORT_TYPES = ("index-pattern", "visualization", "search", "dashboard")


class DashboardsError(RuntimeError):
    """The dashboards server refused or failed a request; the message names the URL."""


def _headers(auth: tuple[str, str] | None) -> dict[str, str]:
    headers = {"kbn-xsrf": "true", "osd-xsrf": "true"}
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            data: bytes = answer.read()
            return data
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode(errors="replace")
        raise DashboardsError(f"POST {url}: HTTP {exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        raise DashboardsError(f"POST {url}: {exc.reason}") from None


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one ``file`` field, and its content type."""
    boundary = f"logferry-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def import_objects(
    base_url: str,
    ndjson: str,
    *,
    auth: tuple[str, str] | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Import (overwriting) the NDJSON objects; the server's answer. Errors raise."""
    url = f"{base_url.rstrip('/')}/api/saved_objects/_import?overwrite=true"
    body, content_type = multipart("logferry.ndjson", ndjson.encode())
    headers = {**_headers(auth), "Content-Type": content_type}
    answer: dict[str, Any] = json.loads(_post(url, body, headers, timeout))
    if not answer.get("success", False):
        problems = [
            f"{e.get('type')}/{e.get('id')}: {e.get('error')}" for e in answer.get("errors", [])
        ]
        raise DashboardsError(f"import into {base_url}: {'; '.join(problems) or answer}")
    return answer


def export_objects(
    base_url: str,
    folder: Path,
    *,
    types: tuple[str, ...] = EXPORT_TYPES,
    auth: tuple[str, str] | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Export the saved objects of ``types`` to ``folder/<type>/<id>.json``; the files written."""
    url = f"{base_url.rstrip('/')}/api/saved_objects/_export"
    body = json.dumps({"type": list(types), "includeReferencesDeep": True}).encode()
    headers = {**_headers(auth), "Content-Type": "application/json"}
    written = []
    for line in _post(url, body, headers, timeout).decode().splitlines():
        obj = json.loads(line) if line.strip() else {}
        if "type" not in obj or "id" not in obj:
            continue  # the trailing {"exportedCount": ...} summary
        target = folder / obj["type"] / f"{obj['id'].replace('/', '_')}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
        written.append(target)
    return written
