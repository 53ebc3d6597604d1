"""scripts/aws_provider_schema.py: cdktn binding snippets to `providers schema -json` pieces.

The fixtures under fixtures/cdktf/ are small hand-written files shaped like the package's
lib/<dir>/index.js; no network, no real package.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "aws_provider_schema.py"
FIXTURES = Path(__file__).parent / "fixtures" / "cdktf"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aws_provider_schema", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


aps = _load()


def _files(name: str) -> dict[str, str]:
    base = FIXTURES / "lib" / name
    return {str(p.relative_to(base)): p.read_text() for p in base.rglob("*") if p.is_file()}


def _schema(name: str) -> tuple[str, str, dict[str, Any]]:
    kind, tf_type, schema = aps.module_schema(aps.parse_module(_files(name)), f"lib/{name}")
    return kind, tf_type, schema


@pytest.fixture(scope="module")
def widget() -> dict[str, Any]:
    kind, tf_type, schema = _schema("widget")
    assert (kind, tf_type, schema["version"]) == ("TerraformResource", "aws_widget", 0)
    block: dict[str, Any] = schema["block"]
    return block


def _tarball(tmp_path: Path) -> Path:
    tgz = tmp_path / "fixture.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for path in sorted(FIXTURES.rglob("*")):
            if path.is_file():
                tar.add(path, arcname="package/" + str(path.relative_to(FIXTURES)))
    return tgz


def test_required_optional_and_computed_flags(widget: dict[str, Any]) -> None:
    attrs = widget["attributes"]
    assert attrs["name"] == {"type": "string", "required": True, "description_kind": "plain"}
    assert attrs["handler"] == {"type": "string", "optional": True, "description_kind": "plain"}
    assert attrs["arn"] == {"type": "string", "computed": True, "description_kind": "plain"}
    assert attrs["id"] == {
        "type": "string",
        "optional": True,
        "computed": True,
        "description_kind": "plain",
    }
    assert attrs["tags_all"]["type"] == ["map", "string"]
    assert (attrs["tags_all"]["optional"], attrs["tags_all"]["computed"]) == (True, True)


def test_value_types_list_set_map(widget: dict[str, Any]) -> None:
    attrs = widget["attributes"]
    assert attrs["subnet_ids"]["type"] == ["set", "string"]
    assert attrs["tags"]["type"] == ["map", "string"]
    assert attrs["weights"]["type"] == ["map", "number"]


def test_sensitive_is_not_in_the_bindings(widget: dict[str, Any]) -> None:
    # The bindings carry no sensitive flag (docs/aws-provider-schema.md says so).
    assert "sensitive" not in widget["attributes"]["password"]


def test_max_one_block_is_a_list_with_max_items_1(widget: dict[str, Any]) -> None:
    env = widget["block_types"]["environment"]
    assert env["nesting_mode"] == "list"
    assert env["max_items"] == 1
    assert "min_items" not in env
    assert env["block"]["attributes"]["variables"]["type"] == ["map", "string"]
    assert "environment" not in widget["attributes"]


def test_required_list_block_nests_a_set_block_and_a_computed_attribute(
    widget: dict[str, Any],
) -> None:
    rule = widget["block_types"]["rule"]
    assert (rule["nesting_mode"], rule["min_items"], "max_items" in rule) == ("list", 1, False)
    inner = rule["block"]
    assert inner["attributes"]["enabled"]["type"] == "bool"
    enabled = inner["attributes"]["enabled"]
    assert (enabled["optional"], enabled["computed"]) == (True, True)
    assert inner["attributes"]["rule_id"] == {
        "type": "string",
        "computed": True,
        "description_kind": "plain",
    }
    flt = inner["block_types"]["filter"]
    assert flt["nesting_mode"] == "set"
    assert flt["block"]["attributes"]["prefix"]["required"] is True


def test_timeouts_is_a_single_block(widget: dict[str, Any]) -> None:
    timeouts = widget["block_types"]["timeouts"]
    assert timeouts["nesting_mode"] == "single"
    assert "max_items" not in timeouts
    assert timeouts["block"]["attributes"]["create"]["optional"] is True


def test_computed_nested_values_are_attributes_of_object_type(widget: dict[str, Any]) -> None:
    attrs = widget["attributes"]
    # SDKv2 ConfigModeAttr (security group ingress): set of objects, optional + computed
    assert attrs["ingress"]["type"] == [
        "set",
        ["object", {"cidr_blocks": ["list", "string"], "from_port": "number"}],
    ]
    assert (attrs["ingress"]["optional"], attrs["ingress"]["computed"]) == (True, True)
    # framework ObjectAttribute: a single object
    assert attrs["settings"]["type"] == ["object", {"mode": "string"}]
    # computed-only list of objects, element types from the getters
    assert attrs["endpoints"] == {
        "type": [
            "list",
            [
                "object",
                {"address": "string", "labels": ["map", "string"], "ports": ["set", "number"]},
            ],
        ],
        "computed": True,
        "description_kind": "plain",
    }
    assert not {"ingress", "settings", "endpoints"} & set(widget["block_types"])


def test_data_source_schema() -> None:
    kind, tf_type, schema = _schema("data-widget")
    assert (kind, tf_type) == ("TerraformDataSource", "aws_widget")
    block = schema["block"]
    assert block["attributes"]["json"]["computed"] is True
    assert "optional" not in block["attributes"]["json"]
    assert block["block_types"]["filter"]["nesting_mode"] == "set"
    assert block["block_types"]["filter"]["block"]["attributes"]["values"] == {
        "type": ["set", "string"],
        "required": True,
        "description_kind": "plain",
    }


def test_provider_block_drops_alias_and_reads_nested_flags_from_interfaces() -> None:
    kind, tf_type, schema = _schema("provider")
    assert (kind, tf_type) == ("TerraformProvider", "aws")
    block = schema["block"]
    assert set(block["attributes"]) == {"region"}
    role = block["block_types"]["assume_role"]
    assert role["nesting_mode"] == "list"
    assert role["block"]["attributes"]["role_arn"]["required"] is True
    tags = block["block_types"]["default_tags"]["block"]["attributes"]["tags"]
    assert tags == {"type": ["map", "string"], "optional": True, "description_kind": "plain"}


def test_recursive_block_is_cut_at_the_limit() -> None:
    notes: list[str] = []
    _, _, schema = aps.module_schema(aps.parse_module(_files("loop")), "lib/loop", notes)
    depth, block = 0, schema["block"]
    while "block_types" in block:
        block = block["block_types"]["statement"]["block"]
        depth += 1
    assert depth == aps.RECURSION_LIMIT
    assert block["attributes"]["label"]["type"] == "string"
    assert notes and "aws_loop" in notes[0]


def test_unknown_value_type_names_the_object() -> None:
    files = _files("widget")
    files["index.js"] = files["index.js"].replace('"numberMap"', '"frobMap"')
    with pytest.raises(aps.SchemaError, match=r"lib/widget \(aws_widget\): weights: .*frobMap"):
        aps.module_schema(aps.parse_module(files), "lib/widget")


def test_field_missing_from_hcl_attributes_is_an_error() -> None:
    files = _files("widget")
    entry = (
        "            handler: {\n"
        "                value: cdktn.stringToHclTerraform(this._handler),\n"
        "                isBlock: false,\n"
        '                type: "simple",\n'
        '                storageClassType: "string",\n'
        "            },\n"
    )
    assert entry in files["index.js"]
    files["index.js"] = files["index.js"].replace(entry, "")
    with pytest.raises(aps.SchemaError, match="handler: configurable field missing"):
        aps.module_schema(aps.parse_module(files), "lib/widget")


def test_extract_from_tarball_builds_the_whole_document(tmp_path: Path) -> None:
    doc = aps.extract(_tarball(tmp_path))
    assert doc["format_version"] == "1.0"
    assert doc["logferry_source"] == {
        "package": "@cdktn/provider-aws",
        "version": "0.0.0-fixture",
        "provider_version": "6.0.0-fixture",
    }
    body = doc["provider_schemas"]["registry.terraform.io/hashicorp/aws"]
    assert set(body) == {
        "provider",
        "resource_schemas",
        "data_source_schemas",
        "ephemeral_resource_schemas",
    }
    assert sorted(body["resource_schemas"]) == ["aws_loop", "aws_widget"]
    assert sorted(body["data_source_schemas"]) == ["aws_widget"]
    assert body["ephemeral_resource_schemas"] == {}
    assert set(body["provider"]["block"]["attributes"]) == {"region"}
    # the fixture is not the pinned package, so --check must reject it
    problems = aps.check_document(doc)
    assert any("logferry_source" in p for p in problems)


def test_integrity_and_cache(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"abc")
    # sha512("abc"), base64, as npm prints dist.integrity
    assert aps.integrity_of(blob) == (
        "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
    )
    assert aps.tarball_name() == "cdktn-provider-aws-25.7.0.tgz"
    with pytest.raises(aps.SchemaError, match="is missing"):
        aps.fetch_package(tmp_path / "empty", download=False)
    (tmp_path / aps.tarball_name()).write_bytes(b"not the package")
    with pytest.raises(aps.SchemaError, match="is not the pinned"):
        aps.fetch_package(tmp_path, download=False)


def test_default_cache_follows_logferry_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFERRY_CACHE", "/x/cache")
    assert aps.default_cache() == Path("/x/cache/tofu/npm")


def _pinned_doc() -> dict[str, Any]:
    body: dict[str, Any] = {
        key: {"x": {}} for key in ("provider", "resource_schemas", "data_source_schemas")
    }
    return {
        "format_version": "1.0",
        "provider_schemas": {aps.PROVIDER_ADDRESS: body},
        "logferry_source": {
            "package": aps.PACKAGE,
            "version": aps.VERSION,
            "provider_version": aps.PROVIDER_VERSION,
        },
    }


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "schema.json"
    size = aps.write_atomic(out, _pinned_doc())
    assert size == out.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]
    assert aps.main(["--out", str(out), "--check"]) == 0
    stale = _pinned_doc()
    stale["logferry_source"]["provider_version"] = "6.25.0"
    aps.write_atomic(out, stale)
    assert aps.main(["--out", str(out), "--check"]) == 1
    assert "6.25.0" in capsys.readouterr().err


def test_tarball_without_package_json_is_an_error(tmp_path: Path) -> None:
    tgz = tmp_path / "bad.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        data = b"x"
        info = tarfile.TarInfo("package/lib/x/index.js")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(aps.SchemaError, match=r"no package/package\.json"):
        aps.extract(tgz)


def test_output_is_json_serialisable_compactly(tmp_path: Path) -> None:
    doc = aps.extract(_tarball(tmp_path))
    out = tmp_path / "s.json"
    aps.write_atomic(out, doc)
    assert json.loads(out.read_text()) == doc
    assert "\n" not in out.read_text()
