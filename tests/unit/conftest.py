"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from logferry import deadline


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An in-process moto S3 client with the test module's ``BUCKET`` created."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=request.module.BUCKET)
        yield client


class FakeClock:
    """The monotonic clock :mod:`logferry.deadline` reads, moved only by :meth:`tick`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        """The fake time."""
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        """Let ``seconds`` pass."""
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock for every :class:`~logferry.deadline.Deadline` of the test."""
    fake = FakeClock()
    monkeypatch.setattr(deadline, "time", fake)
    return fake
