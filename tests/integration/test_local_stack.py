"""The Docker-free local stack end to end: real processes on 127.0.0.1, a real Lambda zip.

Run: .venv/bin/pytest tests/integration/test_local_stack.py  (about half a minute).
"""

import io
import json
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from logferry.local import stack
from logferry.local.endpoints import Endpoints, boto3_client, wait_for
from logferry.local.stack import LocalStack

pytestmark = pytest.mark.e2e

APP = """
import json, os, time
from urllib.parse import unquote_plus
import boto3

def on_s3(event, context):
    time.sleep(float(os.environ["DELAY"]))
    key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])  # moto encodes "/" too
    print("processing", key)
    body = json.dumps({"remaining_ms": context.get_remaining_time_in_millis()})
    boto3.client("s3").put_object(Bucket=os.environ["OUT"], Key="processed/" + key, Body=body)
    return {"ok": True}

def on_api(event, context):
    body = {
        "ip": event["requestContext"]["identity"]["sourceIp"],
        "query": event["queryStringParameters"],
        "params": event["pathParameters"],
        "method": event["httpMethod"],
    }
    return {"statusCode": 200, "headers": {"X-Local": "yes"}, "body": json.dumps(body)}

def on_http_api(event, context):
    http = event["requestContext"]["http"]
    return {"ip": http["sourceIp"], "path": event["rawPath"], "id": event["pathParameters"]["id"]}

def on_schedule(event, context):
    key = "scheduled/" + event["id"]
    boto3.client("s3").put_object(Bucket=os.environ["OUT"], Key=key, Body=json.dumps(event))

def sleepy(event, context):
    time.sleep(30)
"""


def app_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", APP)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOGFERRY_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        env.setenv("LOGFERRY_SEARCH", "none")
        env.setenv("LOGFERRY_SCHEDULE_SCALE", "60")  # rate(1 minute) fires every second
        for name in ("AWS", "SLACK", "GATEWAY"):
            env.setenv(f"LOGFERRY_{name}_PORT", "auto")
        local = LocalStack(["aws", "slack", "gateway", "scheduler"])
        started = time.monotonic()
        found = local.start()
        print(f"stack up in {time.monotonic() - started:.1f}s")
        yield found
        local.stop()
        assert not any(psutil.pid_exists(pid) for pid in found.pids.values())


@pytest.fixture(scope="module")
def deployed(endpoints: Endpoints) -> dict[str, str]:
    iam = boto3_client("iam", endpoints)
    role = iam.create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3 = boto3_client("s3", endpoints)
    for bucket in ("landing", "results"):
        s3.create_bucket(Bucket=bucket)
    functions = boto3_client("lambda", endpoints)
    arns = {}
    for name, timeout in (
        ("on_s3", 30),
        ("on_api", 30),
        ("on_http_api", 30),
        ("on_schedule", 30),
        ("sleepy", 1),
    ):
        arns[name] = functions.create_function(
            FunctionName=name.replace("_", "-"),
            Runtime="python3.11",
            Role=role,
            Handler=f"app.{name}",
            Code={"ZipFile": app_zip()},
            Timeout=timeout,
            Environment={"Variables": {"OUT": "results", "DELAY": "2"}},
        )["FunctionArn"]
    return arns


def keys(endpoints: Endpoints, prefix: str) -> list[str]:
    listing = boto3_client("s3", endpoints).list_objects_v2(Bucket="results", Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_s3_notification_runs_the_zip_asynchronously(
    endpoints: Endpoints, deployed: dict[str, str]
) -> None:
    s3 = boto3_client("s3", endpoints)
    s3.put_bucket_notification_configuration(
        Bucket="landing",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": deployed["on_s3"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    started = time.monotonic()
    s3.put_object(Bucket="landing", Key="alb/a.log", Body=b"line\n")
    assert time.monotonic() - started < 1.5, "the PUT waited for the handler (DELAY=2s)"
    wait_for(lambda: keys(endpoints, "processed/"), timeout=60, what="processed/alb/a.log")
    body = s3.get_object(Bucket="results", Key="processed/alb/a.log")["Body"].read()
    assert 0 < json.loads(body)["remaining_ms"] <= 30_000
    logs = boto3_client("logs", endpoints)

    def logged() -> bool:
        found = logs.filter_log_events(logGroupName="/aws/lambda/on-s3")["events"]
        return any("processing alb/a.log" in event["message"] for event in found)

    wait_for(logged, timeout=10, what="the handler's print in /aws/lambda/on-s3")


def test_request_response_invoke_and_timeout(
    endpoints: Endpoints, deployed: dict[str, str]
) -> None:
    functions = boto3_client("lambda", endpoints)
    response = functions.invoke(FunctionName="sleepy", Payload=b"{}")
    assert response["FunctionError"] == "Handled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorMessage"] == "Task timed out after 1.00 seconds"


def test_gateway_turns_requests_into_proxy_events(
    endpoints: Endpoints, deployed: dict[str, str]
) -> None:
    apigateway = boto3_client("apigateway", endpoints)
    api = apigateway.create_rest_api(name="uploads")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    items = apigateway.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    item = apigateway.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    apigateway.put_method(
        restApiId=api, resourceId=item, httpMethod="GET", authorizationType="NONE"
    )
    uri = (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        f"{deployed['on_api']}/invocations"
    )
    apigateway.put_integration(
        restApiId=api,
        resourceId=item,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=uri,
    )
    apigateway.create_deployment(restApiId=api, stageName="prod")
    with urllib.request.urlopen(f"{endpoints.gateway}/{api}/prod/items/42?mode=fast") as reply:
        body: dict[str, Any] = json.loads(reply.read())
        assert reply.headers["X-Local"] == "yes"
    assert body == {
        "ip": "127.0.0.1",
        "query": {"mode": "fast"},
        "params": {"id": "42"},
        "method": "GET",
    }
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{endpoints.gateway}/uploads/prod/nothing-here")
    assert missing.value.code == 404


def test_gateway_serves_http_api_payload_v2(endpoints: Endpoints, deployed: dict[str, str]) -> None:
    apis = boto3_client("apigatewayv2", endpoints)
    api = apis.create_api(Name="http-uploads", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=deployed["on_http_api"],
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    apis.create_route(ApiId=api, RouteKey="GET /items/{id}", Target=f"integrations/{integration}")
    apis.create_stage(ApiId=api, StageName="$default")
    with urllib.request.urlopen(f"{endpoints.gateway}/http-uploads/items/9") as reply:
        assert json.loads(reply.read()) == {"ip": "127.0.0.1", "path": "/items/9", "id": "9"}


def test_scheduler_fires_rate_rules(endpoints: Endpoints, deployed: dict[str, str]) -> None:
    events = boto3_client("events", endpoints)
    events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule="every-minute", Targets=[{"Id": "1", "Arn": deployed["on_schedule"]}])
    wait_for(lambda: keys(endpoints, "scheduled/"), timeout=60, what="a scheduled invocation")
    key = keys(endpoints, "scheduled/")[0]
    s3 = boto3_client("s3", endpoints)
    event = json.loads(s3.get_object(Bucket="results", Key=key)["Body"].read())
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"][0].endswith(":rule/every-minute")
    events.disable_rule(Name="every-minute")


def request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(call) as reply:
            text = reply.read()
            return reply.status, json.loads(text) if text.startswith((b"[", b"{")) else text
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_slack_capture_records_fails_and_clears(endpoints: Endpoints) -> None:
    assert endpoints.slack
    base = endpoints.slack.split("/hooks/")[0]
    assert request(f"{base}/control/fail", "POST", {"count": 1, "status": 503})[0] == 200
    assert request(endpoints.slack, "POST", {"text": "first"})[0] == 503
    assert request(endpoints.slack, "POST", {"text": "second"}) == (200, b"ok")
    _, messages = request(f"{base}/messages")
    assert [m["payload"] for m in messages] == [{"text": "second"}]
    request(f"{base}/messages", "DELETE")
    assert request(f"{base}/messages") == (200, [])


def test_up_twice_is_harmless_and_status_reports(endpoints: Endpoints) -> None:
    again = stack.up(["aws", "slack", "gateway", "scheduler"], progress=lambda line: None)
    assert again.pids == endpoints.pids
    rows = {row.name: row for row in stack.status()}
    assert all(row.healthy for row in rows.values())
    assert rows["aws"].url == endpoints.aws


def test_down_stops_only_what_up_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFERRY_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LOGFERRY_SLACK_PORT", "auto")
    bystander = psutil.Popen(["sleep", "30"])
    try:
        started = stack.up(["slack"], progress=lambda line: None)
        assert stack.down(progress=lambda line: None) == 1
        assert not psutil.pid_exists(started.pids["slack"])
        assert bystander.is_running()
        assert stack.status() == []
        assert not (tmp_path / "endpoints.json").exists()
    finally:
        bystander.kill()


def test_emulator_serves_the_other_services_we_deploy(endpoints: Endpoints) -> None:
    ssm = boto3_client("ssm", endpoints)
    ssm.put_parameter(Name="/logferry/allow", Value="web1", Type="SecureString")
    assert ssm.get_parameter(Name="/logferry/allow", WithDecryption=True)["Parameter"]["Value"]
    secrets = boto3_client("secretsmanager", endpoints)
    secrets.create_secret(Name="slack", SecretString="https://hooks.example/x")
    assert secrets.get_secret_value(SecretId="slack")["SecretString"].startswith("https://")
    sqs = boto3_client("sqs", endpoints)
    queue = sqs.create_queue(QueueName="replay")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "m"
    assert boto3_client("sts", endpoints).get_caller_identity()["Account"] == "123456789012"
