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

from logferry.local.deploy import deploy, load_deployment
from logferry.local.deploy_cli import register
from logferry.local.endpoints import Endpoints, boto3_client
from logferry.local.spec import packages
from logferry.local.tf_deploy import terraform_deploy


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
    for name in packages():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", f"def handler(event, context):\n    return {name!r}\n")
        (folder / f"{name}.zip").write_bytes(buffer.getvalue())
    return folder


def test_deploys_the_stack_names_and_settings(endpoints: Endpoints, build_dir: Path) -> None:
    notes: list[str] = []
    d = deploy(endpoints, build_dir, notes.append)
    assert d.account_id == boto3_client("sts", endpoints).get_caller_identity()["Account"]
    assert d.raw_bucket == f"logferry-{d.account_id}-us-east-1-raw"
    assert d.upload_api_url == f"http://127.0.0.1:4568/{d.upload_api_id}/v1/"
    lam = boto3_client("lambda", endpoints)
    alb = lam.get_function_configuration(FunctionName="logferry-alb_to_cloudwatch")
    env = alb["Environment"]["Variables"]
    assert env["LOG_GROUP"] == "/logferry/alb"
    assert env["SEARCH_URL"] == "http://127.0.0.1:9200"
    assert env["SEARCH_ENGINE"] == "opensearch"
    assert env["QUARANTINE_BUCKET"] == f"logferry-{d.account_id}-us-east-1-quarantine"
    assert (alb["Timeout"], alb["MemorySize"], alb["Handler"]) == (300, 512, "handler.handler")
    assert alb["Role"].endswith(":role/logferry-alb_to_cloudwatch-role")
    csv = lam.get_function_configuration(FunctionName="logferry-serverlog_to_csv")
    assert csv["Environment"]["Variables"]["QUARANTINE_PREFIX"] == "quarantine"
    upload = lam.get_function_configuration(FunctionName="logferry-upload_url")
    assert upload["Environment"]["Variables"]["ALLOWLIST_PARAM"] == "/logferry/upload/allowlist"
    alert = lam.get_function_configuration(FunctionName="logferry-log_alert")
    assert alert["Environment"]["Variables"]["SLACK_SECRET_ARN"] == d.slack_secret_arn
    assert ":secret:logferry/slack-webhook" in d.slack_secret_arn
    policy = boto3_client("iam", endpoints).get_role_policy(
        RoleName="logferry-alb_to_cloudwatch-role", PolicyName="logferry-alb_to_cloudwatch-policy"
    )["PolicyDocument"]
    sids = [s["Sid"] for s in policy["Statement"]]
    assert {"OwnLogGroup", "ReadObjects", "WriteLogGroups", "SendFailures"} <= set(sids)
    consume = boto3_client("iam", endpoints).get_role_policy(
        RoleName="logferry-alb_to_cloudwatch-role", PolicyName="consume-logferry-alb_to_cloudwatch"
    )["PolicyDocument"]
    assert consume["Statement"][0]["Resource"].endswith(":logferry-alb_to_cloudwatch")
    invoke = lam.get_function_event_invoke_config(FunctionName="logferry-alb_to_cloudwatch")
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":logferry-alb_to_cloudwatch-failures"
    )
    ssm = boto3_client("ssm", endpoints)
    assert ssm.get_parameter(Name="/logferry/upload/allowlist")["Parameter"]["Value"] == (
        "127.0.0.1/32"
    )
    assert ssm.get_parameter(Name="/logferry/alert/rules")["Parameter"]["Value"] == (
        '{"rules": []}'
    )
    rule = boto3_client("events", endpoints).describe_rule(Name="logferry-alert-schedule")
    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    statement = json.loads(lam.get_policy(FunctionName="logferry-log_alert")["Policy"])
    assert statement["Statement"][0]["Sid"] == "AllowEventBridgeInvoke"
    assert statement["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]
    stage = boto3_client("apigateway", endpoints).get_stage(
        restApiId=d.upload_api_id, stageName="v1"
    )
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 10
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 20
    assert stage["tracingEnabled"] is True
    config = boto3_client("s3", endpoints).get_bucket_notification_configuration(
        Bucket=d.raw_bucket
    )
    assert "LambdaFunctionConfigurations" not in config
    filters = {
        c["Id"]: {r["Name"].lower(): r["Value"] for r in c["Filter"]["Key"]["FilterRules"]}
        for c in config["QueueConfigurations"]
    }
    assert filters["alb_to_cloudwatch"] == {"prefix": "alb/AWSLogs/", "suffix": ".log.gz"}
    assert filters["cwl_to_search"] == {"prefix": "cwl/"}
    assert filters["aws_logs_to_search"] == {"prefix": "aws/"}
    assert filters["nginx_to_search"] == {"prefix": "agent-nginx/"}
    assert len(filters) == 7
    sqs = boto3_client("sqs", endpoints)
    url = sqs.get_queue_url(QueueName="logferry-alb_to_cloudwatch")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "1800"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"].endswith(":logferry-alb_to_cloudwatch-dlq")
    mappings = lam.list_event_source_mappings(FunctionName="logferry-alb_to_cloudwatch")
    (mapping,) = mappings["EventSourceMappings"]
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    saved = json.loads((build_dir.parent / "state" / "deployment.json").read_text())
    assert all(isinstance(value, str) for value in saved.values())
    assert load_deployment() == d


def test_deploys_the_checkpoints_table_and_dead_end_retention(
    endpoints: Endpoints, build_dir: Path
) -> None:
    d = deploy(endpoints, build_dir, lambda _: None)
    dynamodb = boto3_client("dynamodb", endpoints)
    table = dynamodb.describe_table(TableName="logferry-checkpoints")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName="logferry-checkpoints")
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    backups = dynamodb.describe_continuous_backups(TableName="logferry-checkpoints")
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    lam = boto3_client("lambda", endpoints)
    for name in d.functions():
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        shipper = name not in (d.upload_function, d.alert_function)
        assert (env.get("CHECKPOINT_TABLE") == "logferry-checkpoints") is shipper, name
    policy = boto3_client("iam", endpoints).get_role_policy(
        RoleName="logferry-cwl_to_search-role", PolicyName="logferry-cwl_to_search-policy"
    )["PolicyDocument"]
    (tables,) = [s for s in policy["Statement"] if s["Sid"] == "UseTables"]
    assert tables["Resource"] == [
        f"arn:aws:dynamodb:us-east-1:{d.account_id}:table/logferry-checkpoints"
    ]
    sqs = boto3_client("sqs", endpoints)
    for queue in ("logferry-cwl_to_search-failures", "logferry-cwl_to_search-dlq"):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
        assert got["Attributes"]["MessageRetentionPeriod"] == "1209600", queue


def test_a_second_deploy_updates_and_never_duplicates(
    endpoints: Endpoints, build_dir: Path
) -> None:
    first = deploy(endpoints, build_dir, lambda _: None)
    notes: list[str] = []
    second = deploy(endpoints, build_dir, notes.append)
    assert second == first
    assert sum("code unchanged" in note for note in notes) == 9
    assert not any("created" in note for note in notes)
    apis = boto3_client("apigateway", endpoints).get_rest_apis()["items"]
    assert [a["name"] for a in apis] == ["logferry-upload"]
    functions = boto3_client("lambda", endpoints).list_functions()["Functions"]
    assert len(functions) == len(first.functions()) == 9
    lam = boto3_client("lambda", endpoints)
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 7
    secrets = boto3_client("secretsmanager", endpoints).list_secrets()["SecretList"]
    assert [s["Name"] for s in secrets] == ["logferry/slack-webhook"]


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


def test_terraform_path_applies_the_stack_with_the_running_urls(
    endpoints: Endpoints, build_dir: Path, tmp_path: Path
) -> None:
    """LOGFERRY_DEPLOY=terraform: a stand-in `tofu` records its calls (the resources come from
    the Python deployer here); deployment.json is the same."""
    expected = deploy(endpoints, build_dir, lambda _: None)
    calls = tmp_path / "calls"
    fake = tmp_path / "tofu"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    d = terraform_deploy(endpoints, lambda _: None, tf=str(fake))
    assert d == expected
    init, apply = calls.read_text().splitlines()
    assert init.endswith("terraform/stacks/local init -input=false")
    assert f"-var=aws_endpoint={endpoints.aws}" in apply.split()
    assert "-var=search_engine=opensearch" in apply.split()
    assert "apply -auto-approve" in apply
