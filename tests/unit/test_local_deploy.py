"""`logferry.local.deploy` against an in-process moto server: names, settings, idempotence."""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from logferry.demo import PACKAGES
from logferry.local.deploy import deploy, load_deployment
from logferry.local.deploy_cli import register
from logferry.local.endpoints import Endpoints, boto3_client


@pytest.fixture(scope="module")
def endpoints() -> Iterator[Endpoints]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield Endpoints(
        aws=f"http://{host}:{port}",
        search="http://127.0.0.1:9200",
        search_engine="opensearch",
        gateway="http://127.0.0.1:4568",
    )
    server.stop()


@pytest.fixture
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGFERRY_STATE_DIR", str(tmp_path / "state"))
    folder = tmp_path / "build"
    folder.mkdir()
    for name in PACKAGES:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", f"def handler(event, context):\n    return {name!r}\n")
        (folder / f"{name}.zip").write_bytes(buffer.getvalue())
    return folder


def test_deploys_the_stack_names_and_settings(endpoints: Endpoints, build_dir: Path) -> None:
    notes: list[str] = []
    d = deploy(endpoints, build_dir, notes.append)
    assert d.raw_bucket == "logferry-123456789012-raw"
    assert d.upload_api_url == f"http://127.0.0.1:4568/{d.upload_api_id}/v1/"
    lam = boto3_client("lambda", endpoints)
    alb = lam.get_function_configuration(FunctionName="alb_to_cloudwatch")
    env = alb["Environment"]["Variables"]
    assert env["LOG_GROUP"] == "/logferry/alb"
    assert env["SEARCH_URL"] == "http://127.0.0.1:9200"
    assert env["SEARCH_ENGINE"] == "opensearch"
    assert env["QUARANTINE_BUCKET"] == "logferry-123456789012-quarantine"
    assert (alb["Timeout"], alb["MemorySize"], alb["Handler"]) == (300, 512, "handler.handler")
    upload = lam.get_function_configuration(FunctionName="upload_url")["Environment"]["Variables"]
    assert upload["ALLOWLIST_PARAM"] == "/logferry/upload/allowlist"
    assert upload["UPLOAD_PREFIX"] == "uploads/"
    ssm = boto3_client("ssm", endpoints)
    assert ssm.get_parameter(Name="/logferry/upload/allowlist")["Parameter"]["Value"] == (
        "127.0.0.1/32"
    )
    config = boto3_client("s3", endpoints).get_bucket_notification_configuration(
        Bucket=d.raw_bucket
    )["LambdaFunctionConfigurations"]
    filters = {
        c["Id"]: {r["Name"].lower(): r["Value"] for r in c["Filter"]["Key"]["FilterRules"]}
        for c in config
    }
    assert filters["alb_to_cloudwatch"] == {"prefix": "alb/AWSLogs/", "suffix": ".log.gz"}
    assert filters["cwl_to_search"] == {"prefix": "cwl/"}
    assert filters["aws_logs_to_search"] == {"prefix": "aws/"}
    assert len(filters) == 7
    saved = json.loads((build_dir.parent / "state" / "deployment.json").read_text())
    assert all(isinstance(value, str) for value in saved.values())
    assert load_deployment() == d


def test_a_second_deploy_updates_and_never_duplicates(
    endpoints: Endpoints, build_dir: Path
) -> None:
    first = deploy(endpoints, build_dir, lambda _: None)
    notes: list[str] = []
    second = deploy(endpoints, build_dir, notes.append)
    assert second == first
    assert sum("code unchanged" in note for note in notes) == 8
    assert not any("created" in note for note in notes)
    apis = boto3_client("apigateway", endpoints).get_rest_apis()["items"]
    assert [a["name"] for a in apis] == ["logferry-upload"]
    functions = boto3_client("lambda", endpoints).list_functions()["Functions"]
    assert len(functions) == len(first.functions()) == 8


def test_missing_zip_and_missing_search_are_named(endpoints: Endpoints, build_dir: Path) -> None:
    (build_dir / "cwl_to_search.zip").unlink()
    with pytest.raises(FileNotFoundError, match=r"cwl_to_search\.zip"):
        deploy(endpoints, build_dir, lambda _: None)
    with pytest.raises(ValueError, match="search"):
        deploy(Endpoints(aws=endpoints.aws), build_dir, lambda _: None)


def test_cli_registers_local_deploy(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["deploy", "--build-dir", str(tmp_path)])
    assert args.build_dir == tmp_path
    assert callable(args.func)
