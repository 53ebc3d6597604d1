"""EMF output of the per-object metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest

from logferry.metrics import publish_summary, service_name, summary_metrics
from logferry.pipeline import Summary


def _summary(**overrides: Any) -> Summary:
    base = Summary(
        object="s3://b/k.log",
        format="alb",
        records=10,
        documents=10,
        parse_errors=2,
        shipped={"cloudwatch": 7, "search": 9},
        failed={"cloudwatch": 3},
        parked=3,
        bytes=1234,
        object_time_ms=1_000_000,
    )
    for name, value in overrides.items():
        setattr(base, name, value)
    return base


def _emf(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    blob: dict[str, Any] = json.loads(lines[0])
    return blob


def test_publish_summary_writes_one_emf_line(capsys: pytest.CaptureFixture[str]) -> None:
    publish_summary(_summary(), service="alb_to_cloudwatch", clock=lambda: 1_000.5)
    emf = _emf(capsys)
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "logferry"
    assert sorted(directive["Dimensions"][0]) == ["format", "service"]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units["LagMs"] == "Milliseconds" and units["Bytes"] == "Bytes"
    assert emf["service"] == "alb_to_cloudwatch" and emf["format"] == "alb"
    assert emf["RecordsIn"] == [10.0]
    assert emf["Shipped"] == [16.0]
    assert emf["Failed"] == [3.0]
    assert emf["Parked"] == [3.0]
    assert emf["ParseErrors"] == [2.0]
    assert emf["Bytes"] == [1234.0]
    assert emf["ObjectErrors"] == [0.0]
    assert emf["LagMs"] == [500.0]


def test_consecutive_objects_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    publish_summary(_summary(), service="s", clock=lambda: 1_000.0)
    publish_summary(_summary(format="cwl", records=1), service="s", clock=lambda: 1_000.0)
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["format"] == "alb" and first["RecordsIn"] == [10.0]
    assert second["format"] == "cwl" and second["RecordsIn"] == [1.0]


def test_no_lag_without_object_time_or_shipments() -> None:
    assert "LagMs" not in {m[0] for m in summary_metrics(_summary(object_time_ms=None), 5)}
    assert "LagMs" not in {m[0] for m in summary_metrics(_summary(shipped={}), 5)}
    errored = dict((m[0], m[2]) for m in summary_metrics(_summary(error="corrupt"), 5))
    assert errored["ObjectErrors"] == 1


def test_service_name_fallbacks() -> None:
    assert service_name({"POWERTOOLS_SERVICE_NAME": "a", "AWS_LAMBDA_FUNCTION_NAME": "b"}) == "a"
    assert service_name({"AWS_LAMBDA_FUNCTION_NAME": "b"}) == "b"
    assert service_name({}) == "logferry"
