"""The schema extracted from the real pinned package states what the AWS provider docs say.

Needs the pinned tarball in the cache (``python scripts/aws_provider_schema.py --out PATH``
puts it there); without it this test FAILS rather than skips, so a green run means the check ran.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "aws_provider_schema.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aws_provider_schema", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


aps = _load()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    try:
        tgz = aps.fetch_package(aps.default_cache(), download=False)
    except aps.SchemaError as exc:
        pytest.fail(f"the pinned {aps.PACKAGE}@{aps.VERSION} is not cached: {exc}")
    result: dict[str, Any] = aps.extract(tgz)
    return result


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = doc["provider_schemas"][aps.PROVIDER_ADDRESS]
    return body


def _resource(doc: dict[str, Any], name: str) -> dict[str, Any]:
    block: dict[str, Any] = _body(doc)["resource_schemas"][name]["block"]
    return block


def _data(doc: dict[str, Any], name: str) -> dict[str, Any]:
    block: dict[str, Any] = _body(doc)["data_source_schemas"][name]["block"]
    return block


def _flags(attr: dict[str, Any]) -> set[str]:
    return {k for k in ("required", "optional", "computed") if attr.get(k)}


def test_pinned_version_and_counts(doc: dict[str, Any]) -> None:
    assert aps.check_document(doc) == []
    assert doc["logferry_source"]["provider_version"] == aps.PROVIDER_VERSION
    assert aps.PROVIDER_VERSION.startswith("6.")
    assert len(_body(doc)["resource_schemas"]) > 1000
    assert len(_body(doc)["data_source_schemas"]) > 500


def test_lambda_function(doc: dict[str, Any]) -> None:
    fn = _resource(doc, "aws_lambda_function")
    attrs = fn["attributes"]
    assert _flags(attrs["function_name"]) == {"required"}
    assert _flags(attrs["role"]) == {"required"}
    assert _flags(attrs["handler"]) == {"optional"}
    assert _flags(attrs["arn"]) == {"computed"}
    assert _flags(attrs["id"]) == {"optional", "computed"}
    env = fn["block_types"]["environment"]
    assert (env["nesting_mode"], env["max_items"]) == ("list", 1)
    assert env["block"]["attributes"]["variables"]["type"] == ["map", "string"]


def test_optional_computed_names(doc: dict[str, Any]) -> None:
    assert _flags(_resource(doc, "aws_s3_bucket")["attributes"]["bucket"]) == {
        "optional",
        "computed",
    }
    assert _flags(_resource(doc, "aws_sqs_queue")["attributes"]["name"]) == {
        "optional",
        "computed",
    }


def test_required_names(doc: dict[str, Any]) -> None:
    alarm = _resource(doc, "aws_cloudwatch_metric_alarm")["attributes"]["alarm_name"]
    assert _flags(alarm) == {"required"}
    mapping = _resource(doc, "aws_lambda_event_source_mapping")["attributes"]["function_name"]
    assert _flags(mapping) == {"required"}


def test_iam_policy_document(doc: dict[str, Any]) -> None:
    policy = _data(doc, "aws_iam_policy_document")
    assert policy["block_types"]["statement"]["nesting_mode"] == "list"
    assert _flags(policy["attributes"]["json"]) == {"computed"}
    statement = policy["block_types"]["statement"]["block"]
    assert statement["attributes"]["actions"]["type"] == ["set", "string"]
    assert statement["block_types"]["principals"]["nesting_mode"] == "set"


def test_region_data_source_has_region_and_name(doc: dict[str, Any]) -> None:
    attrs = _data(doc, "aws_region")["attributes"]
    assert attrs["region"]["type"] == "string"
    assert attrs["name"]["type"] == "string"
    assert "computed" in _flags(attrs["name"])
