"""A replay's claim on one parked object, and its progress, in a marker object.

The marker (``<prefix>/_replay/<parked key>.json``, see :meth:`Quarantine.marker_key`) is
created with ``If-None-Match: *`` and every update is conditional on the ETag the holder last
wrote (``If-Match``), so of two replays only one holds an object, and a holder that lost its
claim finds out on its next write. A marker is a separate object, not a tag or a rewrite of
the parked object: S3 tags cannot be written conditionally, and the parked object stays
immutable (what was parked is never rewritten, only deleted once everything shipped).

The marker says how many of the object's events were handled (``done``), which range is in
flight and where its failures are re-parked (``inflight``), and until when the holder's lease
runs. A claim can be taken over when its lease ran out, or at once when its holder is a
process on this host that no longer exists (a replay killed mid-way, rerun).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logferry.sinks.s3 import Quarantine

LEASE_SECONDS = 300.0
"""How long a claim holds without being renewed (each step of a replay renews it)."""


class ClaimLostError(RuntimeError):
    """Another replay took over a parked object this one was replaying."""


@dataclass(frozen=True)
class Owner:
    """Who holds a claim: host, process and a token unique to one replay run."""

    host: str
    pid: int
    token: str

    @classmethod
    def me(cls) -> Owner:
        """This process, with a fresh token."""
        return cls(socket.gethostname(), os.getpid(), secrets.token_hex(8))

    def as_dict(self) -> dict[str, Any]:
        """The owner as stored in a marker."""
        return {"host": self.host, "pid": self.pid, "token": self.token}


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_alive(state: dict[str, Any], now: float, me: Owner) -> bool:
    """Whether the replay named in a marker may still be working on its object."""
    owner = state.get("owner") or {}
    if owner.get("token") == me.token:
        return False  # our own claim
    if float(state.get("lease_until") or 0) <= now:
        return False
    if owner.get("host") == me.host:
        return _process_exists(int(owner.get("pid") or 0))
    return True


class Claim:
    """One replay's hold on one parked object, with the progress stored in its marker."""

    def __init__(
        self,
        quarantine: Quarantine,
        key: str,
        owner: Owner,
        state: dict[str, Any],
        etag: str,
        clock: Callable[[], float],
    ) -> None:
        self.quarantine, self.key, self.owner = quarantine, key, owner
        self.state, self._etag, self._clock = state, etag, clock

    @classmethod
    def take(
        cls,
        quarantine: Quarantine,
        key: str,
        owner: Owner,
        clock: Callable[[], float] = time.time,
    ) -> tuple[Claim | None, dict[str, Any] | None]:
        """Claim parked object ``key``: ``(claim, None)``, or ``(None, holder's marker)`` if
        another live replay holds it (or won the race for it)."""
        now = clock()
        found = quarantine.read_marker(key)
        previous: dict[str, Any] = {"done": 0, "inflight": None, "reparked": []}
        etag: str | None = None
        if found is not None:
            state, etag = found
            if holder_alive(state, now, owner):
                return None, state
            previous = {k: state.get(k, previous[k]) for k in previous}
        state = {**previous, "owner": owner.as_dict(), "lease_until": now + LEASE_SECONDS}
        written = quarantine.write_marker(key, state, etag)
        if written is None:
            again = quarantine.read_marker(key)
            return None, again[0] if again else None
        return cls(quarantine, key, owner, state, written, clock), None

    @property
    def done(self) -> int:
        """Events of the object already handled (shipped, or re-parked) by earlier steps."""
        return int(self.state.get("done") or 0)

    @property
    def inflight(self) -> dict[str, Any] | None:
        """The step a crashed holder was in: ``{"start", "end", "repark"}``, or ``None``."""
        value = self.state.get("inflight")
        return dict(value) if value else None

    def save(self, **changes: Any) -> None:
        """Store progress and renew the lease; :class:`ClaimLostError` if it was taken over."""
        state = {**self.state, **changes, "lease_until": self._clock() + LEASE_SECONDS}
        written = self.quarantine.write_marker(self.key, state, self._etag)
        if written is None:
            raise ClaimLostError(f"s3://{self.quarantine.bucket}/{self.key}: claimed by another")
        self.state, self._etag = state, written

    def pause(self) -> None:
        """Keep the progress but give up the lease (a rerun may continue at once)."""
        state = {**self.state, "lease_until": 0}
        written = self.quarantine.write_marker(self.key, state, self._etag)
        if written is not None:
            self.state, self._etag = state, written

    def release(self) -> None:
        """Drop the marker (the parked object is gone or was never ours to replay)."""
        self.quarantine.delete_marker(self.key)
