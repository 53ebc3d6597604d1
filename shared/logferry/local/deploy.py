"""Deploy `terraform/stacks/local` into the local emulator from its spec (`logferry.local.spec`).

The account comes from STS `get_caller_identity`; every resource the spec lists is created
or updated: buckets, log groups, SSM parameters, the Slack secret, one role with its inline
policy per function, failure queues as on-failure destinations, SQS trigger queues with
their DLQ, queue policy and event source mapping (ReportBatchItemFailures), the raw bucket's
notification configuration, the alert schedule, and the upload REST API with its resource
policy and invoke permission. Every step is create-or-update, so re-running never
duplicates. The result is written as a flat `deployment.json` in the state directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from logferry.local.endpoints import REGION, Endpoints, boto3_client, state_dir
from logferry.local.spec import (
    LOG_SOURCES,
    PREFIXES,
    Function,
    Inputs,
    Names,
    Route,
    StackSpec,
    Table,
    Trigger,
    local_stack,
)

Progress = Callable[[str], None]
DEPLOYMENT_FILE = "deployment.json"
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass(frozen=True)
class Deployment:
    """Every name the tests and the demo need (flat, all strings: `deployment.json`)."""

    region: str
    account_id: str
    aws_endpoint: str
    search_url: str
    search_engine: str
    raw_bucket: str
    analyzed_bucket: str
    quarantine_bucket: str
    quarantine_prefix: str
    index_prefix: str
    alb_log_group: str
    alb_prefix: str
    cwl_prefix: str
    access_prefix: str
    nginx_prefix: str
    apigw_prefix: str
    aws_prefix: str
    upload_prefix: str
    alb_function: str
    cwl_function: str
    access_function: str
    nginx_function: str
    apigw_function: str
    aws_logs_function: str
    serverlog_function: str
    upload_function: str
    alert_function: str
    upload_api_id: str
    upload_api_url: str
    allowlist_param: str
    rules_param: str
    slack_secret_arn: str
    name_prefix: str = "logferry"

    def functions(self) -> list[str]:
        """Names of every deployed function."""
        return [value for key, value in asdict(self).items() if key.endswith("_function")]

    def to_json(self) -> str:
        """The deployment.json text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def spec(self) -> StackSpec:
        """The spec this deployment was made from."""
        return local_stack(
            Inputs(
                self.account_id,
                self.region,
                self.name_prefix,
                self.search_url,
                self.search_engine,
            )
        )


def _code(code: str, error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) == code


def _policy(fn: Function) -> str:
    statements = [
        {"Sid": s.sid, "Effect": "Allow", "Action": list(s.actions), "Resource": list(s.resources)}
        for s in fn.statements
    ]
    own = [f"arn:aws:logs:*:*:log-group:{fn.log_group}:*"]
    statements.insert(
        0,
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": own,
        },
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class _Deployer:
    """The create-or-update steps, sharing clients and the progress callback."""

    def __init__(self, endpoints: Endpoints, progress: Progress) -> None:
        self.progress = progress
        self.s3 = boto3_client("s3", endpoints)
        self.logs = boto3_client("logs", endpoints)
        self.iam = boto3_client("iam", endpoints)
        self.lam = boto3_client("lambda", endpoints)
        self.ssm = boto3_client("ssm", endpoints)
        self.sqs = boto3_client("sqs", endpoints)
        self.events = boto3_client("events", endpoints)
        self.secrets = boto3_client("secretsmanager", endpoints)
        self.apigw = boto3_client("apigateway", endpoints)
        self.dynamodb = boto3_client("dynamodb", endpoints)

    def bucket(self, name: str, *, versioned: bool = False) -> None:
        try:
            self.s3.head_bucket(Bucket=name)
            self.progress(f"bucket {name}: exists")
        except ClientError:
            self.s3.create_bucket(Bucket=name)
            self.progress(f"bucket {name}: created")
        if versioned:
            self.s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
            self.progress(f"bucket {name}: versioning enabled")

    def log_group(self, name: str, retention_days: int) -> None:
        try:
            self.logs.create_log_group(logGroupName=name)
        except ClientError as error:
            if not _code("ResourceAlreadyExistsException", error):
                raise
        self.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)

    def table(self, table: Table) -> None:
        """Create the table (on demand, string hash key) if missing; set TTL and recovery."""
        try:
            self.dynamodb.describe_table(TableName=table.name)
            what = "exists"
        except ClientError as error:
            if not _code("ResourceNotFoundException", error):
                raise
            self.dynamodb.create_table(
                TableName=table.name,
                BillingMode=table.billing_mode,
                AttributeDefinitions=[{"AttributeName": table.hash_key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": table.hash_key, "KeyType": "HASH"}],
                SSESpecification={"Enabled": True},
            )
            what = "created"
        ttl = self.dynamodb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") != "ENABLED":
            self.dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        self.dynamodb.update_continuous_backups(
            TableName=table.name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": table.point_in_time_recovery
            },
        )
        self.progress(f"table {table.name}: {what}")

    def parameter(self, name: str, kind: str, value: str) -> None:
        self.ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)

    def secret(self, name: str, description: str) -> str:
        """The secret's ARN; its value is left alone (set outside the deployment)."""
        try:
            return str(self.secrets.describe_secret(SecretId=name)["ARN"])
        except ClientError as error:
            if not _code("ResourceNotFoundException", error):
                raise
        return str(self.secrets.create_secret(Name=name, Description=description)["ARN"])

    def queue(self, name: str, attributes: dict[str, str]) -> tuple[str, str]:
        """(URL, ARN) of queue `name`, created or with `attributes` set."""
        try:
            url = str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
            if attributes:
                self.sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        except ClientError as error:
            if "NonExistentQueue" not in str(error.response.get("Error", {}).get("Code")):
                raise
            url = str(self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        got = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, str(got["Attributes"]["QueueArn"])

    def role(self, fn: Function, policy: str) -> str:
        try:
            arn = str(self.iam.get_role(RoleName=fn.role)["Role"]["Arn"])
        except ClientError:
            created = self.iam.create_role(RoleName=fn.role, AssumeRolePolicyDocument=ASSUME_LAMBDA)
            arn = str(created["Role"]["Arn"])
        self.iam.put_role_policy(RoleName=fn.role, PolicyName=fn.policy, PolicyDocument=policy)
        return arn

    def function(self, fn: Function, build_dir: Path) -> str:
        zip_path = build_dir / f"{fn.package}.zip"
        if not zip_path.is_file():
            raise FileNotFoundError(f"{zip_path} not found: build the zips with `make build`")
        code = zip_path.read_bytes()
        self.log_group(fn.log_group, fn.log_retention_days)
        config: dict[str, Any] = {
            "FunctionName": fn.name,
            "Role": self.role(fn, _policy(fn)),
            "Handler": fn.handler,
            "Runtime": fn.runtime,
            "Timeout": fn.timeout,
            "MemorySize": fn.memory,
            "Description": fn.description,
            "Environment": {"Variables": fn.environment},
        }
        try:
            current = self.lam.get_function(FunctionName=fn.name)["Configuration"]
        except ClientError as error:
            if not _code("ResourceNotFoundException", error):
                raise
            arn = str(self.lam.create_function(**config, Code={"ZipFile": code})["FunctionArn"])
            what = "created"
        else:
            digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
            same = current.get("CodeSha256") == digest
            if not same:
                self.lam.update_function_code(FunctionName=fn.name, ZipFile=code)
            arn = str(self.lam.update_function_configuration(**config)["FunctionArn"])
            what = "configuration updated, code unchanged" if same else "updated"
        self._concurrency(fn)
        self._async_config(fn)
        self.progress(f"function {fn.name}: {what} from {zip_path.name}")
        return arn

    def _concurrency(self, fn: Function) -> None:
        if fn.reserved_concurrency < 0:
            self.lam.delete_function_concurrency(FunctionName=fn.name)
        else:
            self.lam.put_function_concurrency(
                FunctionName=fn.name, ReservedConcurrentExecutions=fn.reserved_concurrency
            )

    def _async_config(self, fn: Function) -> None:
        destination: dict[str, Any] = {}
        if fn.failure_queue:
            retention = {"MessageRetentionPeriod": str(fn.failure_retention)}
            _, arn = self.queue(fn.failure_queue, retention)
            destination = {"OnFailure": {"Destination": arn}}
        self.lam.put_function_event_invoke_config(
            FunctionName=fn.name,
            MaximumRetryAttempts=fn.maximum_retry_attempts,
            MaximumEventAgeInSeconds=fn.maximum_event_age,
            DestinationConfig=destination,
        )

    def permission(self, function: str, sid: str, principal: str, source_arn: str) -> None:
        try:
            self.lam.add_permission(
                FunctionName=function,
                StatementId=sid,
                Action="lambda:InvokeFunction",
                Principal=principal,
                SourceArn=source_arn,
            )
        except ClientError as error:
            if not _code("ResourceConflictException", error):
                raise

    def trigger_queue(self, fn: Function, trigger: Trigger, bucket_arn: str) -> str:
        """The SQS path: DLQ, queue with redrive and S3 policy, event source mapping."""
        assert trigger.queue and trigger.dlq
        dlq_retention = {"MessageRetentionPeriod": str(trigger.dlq_retention)}
        _, dlq_arn = self.queue(trigger.dlq, dlq_retention)
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": trigger.max_receive_count}
        attributes = {
            "VisibilityTimeout": str(trigger.visibility_timeout),
            "MessageRetentionPeriod": "345600",
            "RedrivePolicy": json.dumps(redrive),
        }
        url, arn = self.queue(trigger.queue, attributes)
        consume = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ConsumeQueue",
                    "Effect": "Allow",
                    "Action": [
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ChangeMessageVisibility",
                    ],
                    "Resource": arn,
                }
            ],
        }
        self.iam.put_role_policy(
            RoleName=fn.role, PolicyName=trigger.consume_policy, PolicyDocument=json.dumps(consume)
        )
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowBucketNotifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}},
                }
            ],
        }
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        self._mapping(fn, trigger, arn)
        return arn

    def _mapping(self, fn: Function, trigger: Trigger, queue_arn: str) -> None:
        settings: dict[str, Any] = {
            "BatchSize": trigger.batch_size,
            "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": list(trigger.response_types),
        }
        found = self.lam.list_event_source_mappings(FunctionName=fn.name, EventSourceArn=queue_arn)[
            "EventSourceMappings"
        ]
        if found:
            self.lam.update_event_source_mapping(UUID=found[0]["UUID"], **settings)
        else:
            self.lam.create_event_source_mapping(
                EventSourceArn=queue_arn, FunctionName=fn.name, **settings
            )

    def notifications(self, bucket: str, targets: list[tuple[Function, str]]) -> None:
        """Replace the bucket's notification configuration (so re-runs never duplicate)."""
        queues, lambdas = [], []
        for fn, arn in targets:
            assert fn.trigger is not None
            rules = [{"Name": "prefix", "Value": fn.trigger.prefix}]
            if fn.trigger.suffix:
                rules.append({"Name": "suffix", "Value": fn.trigger.suffix})
            config = {
                "Id": fn.key,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": rules}},
            }
            if fn.trigger.via == "sqs":
                queues.append({**config, "QueueArn": arn})
            else:
                lambdas.append({**config, "LambdaFunctionArn": arn})
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": queues,
                "LambdaFunctionConfigurations": lambdas,
            },
        )
        self.progress(f"bucket {bucket}: {len(queues)} queue and {len(lambdas)} notifications")

    def schedule(self, name: str, expression: str, function_arn: str, function: str) -> str:
        rule = self.events.put_rule(Name=name, ScheduleExpression=expression, State="ENABLED")
        self.events.put_targets(Rule=name, Targets=[{"Id": function, "Arn": function_arn}])
        self.progress(f"schedule {name}: {expression} -> {function}")
        return str(rule["RuleArn"])

    def upload_api(self, route: Route, function_arn: str, cidrs: tuple[str, ...]) -> str:
        """The REST API `GET /` -> upload_url (Lambda proxy), deployed to its stage."""
        apis = self.apigw.get_rest_apis(limit=500)["items"]
        api = next((a for a in apis if a["name"] == route.api), None)
        if api is None:
            api = self.apigw.create_rest_api(
                name=route.api,
                endpointConfiguration={"types": ["REGIONAL"]},
                policy=_api_policy(cidrs),
            )
        api_id = str(api["id"])
        resources = self.apigw.get_resources(restApiId=api_id)["items"]
        resource = next(r for r in resources if r["path"] == route.path)
        if route.method not in resource.get("resourceMethods", {}):
            self.apigw.put_method(
                restApiId=api_id,
                resourceId=resource["id"],
                httpMethod=route.method,
                authorizationType="NONE",
            )
        uri = (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )
        self.apigw.put_integration(
            restApiId=api_id,
            resourceId=resource["id"],
            httpMethod=route.method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
        self.apigw.create_deployment(restApiId=api_id, stageName=route.stage)
        settings = {
            "/*/*/throttling/rateLimit": str(route.throttle_rate),
            "/*/*/throttling/burstLimit": str(route.throttle_burst),
            "/*/*/metrics/enabled": "true",
            "/tracingEnabled": str(route.tracing).lower(),
        }
        self.apigw.update_stage(
            restApiId=api_id,
            stageName=route.stage,
            patchOperations=[{"op": "replace", "path": k, "value": v} for k, v in settings.items()],
        )
        self.progress(
            f"REST API {route.api} ({api_id}): {route.method} {route.path} -> {route.function},"
            f" stage {route.stage}"
        )
        return api_id


def _api_policy(cidrs: tuple[str, ...]) -> str:
    """The upload API's resource policy: invoke allowed, denied outside `cidrs`."""
    invoke = {"Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
    deny = {"NotIpAddress": {"aws:SourceIp": list(cidrs)}}
    statements = [
        {"Sid": "AllowInvoke", "Effect": "Allow", **invoke},
        {"Sid": "DenyOtherSources", "Effect": "Deny", **invoke, "Condition": deny},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def account_id(endpoints: Endpoints) -> str:
    """The account the emulator answers for (STS GetCallerIdentity)."""
    return str(boto3_client("sts", endpoints).get_caller_identity()["Account"])


def deploy(
    endpoints: Endpoints,
    build_dir: Path,
    progress: Progress = print,
    *,
    prefix: str = "logferry",
    allowed_cidrs: list[str] | None = None,
) -> Deployment:
    """Create or update the whole local stack and write `deployment.json`.

    The stack's variables take the running components' values: `search_endpoint` and
    `search_engine` the local search node's, `aws_endpoint` the emulator's.
    """
    if not endpoints.search:
        raise ValueError("the local stack runs no search node: start it with search enabled")
    inputs = Inputs(
        account_id(endpoints),
        REGION,
        prefix,
        endpoints.search,
        endpoints.search_engine or "elasticsearch",
        tuple(allowed_cidrs or ["127.0.0.1/32"]),
    )
    spec = local_stack(inputs)
    step = _Deployer(endpoints, progress)
    for bucket in spec.buckets:
        step.bucket(bucket, versioned=bucket in spec.versioned_buckets)
    for group in spec.log_groups:
        step.log_group(group.name, group.retention_days)
    for table in spec.tables:
        step.table(table)
    for parameter in spec.parameters:
        step.parameter(parameter.name, parameter.type, parameter.value)
    names = Names(prefix, inputs.account_id, REGION)
    placeholder = names.arn("secretsmanager", f"secret:{names.slack_secret}")
    secrets = {s.name: step.secret(s.name, s.description) for s in spec.secrets}
    functions = [_resolve(fn, placeholder, secrets[names.slack_secret]) for fn in spec.functions]
    arns = {fn.key: step.function(fn, build_dir) for fn in functions}
    raw = names.bucket("raw")
    targets = []
    for fn in (f for f in functions if f.trigger is not None):
        assert fn.trigger is not None
        if fn.trigger.via == "sqs":
            targets.append((fn, step.trigger_queue(fn, fn.trigger, f"arn:aws:s3:::{raw}")))
        else:
            sid = f"AllowS3Invoke-{raw}-{fn.key}"
            step.permission(fn.name, sid, "s3.amazonaws.com", f"arn:aws:s3:::{raw}")
            targets.append((fn, arns[fn.key]))
    step.notifications(raw, targets)
    by_name = {fn.name: fn for fn in functions}
    sources: dict[str, str] = {}
    for schedule in spec.schedules:
        target = by_name[schedule.function]
        rule = step.schedule(schedule.name, schedule.expression, arns[target.key], target.name)
        sources[target.name] = rule
    route = spec.routes[0]
    api_id = step.upload_api(route, arns[by_name[route.function].key], inputs.upload_allowed_cidrs)
    sources[route.function] = names.arn("execute-api", f"{api_id}/*/{route.method}{route.path}")
    for permission in spec.permissions:
        step.permission(
            permission.function,
            permission.statement_id,
            permission.principal,
            sources[permission.function],
        )
    deployment = describe(endpoints, inputs, api_id, secrets[names.slack_secret])
    path = save_deployment(deployment)
    progress(f"deployment written to {path}")
    return deployment


def describe(endpoints: Endpoints, inputs: Inputs, api_id: str, secret_arn: str) -> Deployment:
    """The `Deployment` record of the local stack deployed with `inputs`."""
    spec = local_stack(inputs)
    names = Names(inputs.name_prefix, inputs.account_id, inputs.region)
    shipper = spec.function("alb_to_cloudwatch").environment
    gateway = (endpoints.gateway or "").rstrip("/")
    stage = spec.routes[0].stage
    return Deployment(
        region=inputs.region,
        account_id=inputs.account_id,
        aws_endpoint=endpoints.aws,
        search_url=inputs.search_endpoint,
        search_engine=inputs.search_engine,
        raw_bucket=names.bucket("raw"),
        analyzed_bucket=names.bucket("analyzed"),
        quarantine_bucket=names.bucket("quarantine"),
        quarantine_prefix=shipper["QUARANTINE_PREFIX"],
        index_prefix=shipper["INDEX_PREFIX"],
        alb_log_group=names.alb_log_group,
        alb_prefix=PREFIXES["alb"],
        cwl_prefix=PREFIXES["cwl"],
        access_prefix=PREFIXES["access"],
        nginx_prefix=LOG_SOURCES["nginx"][0],
        apigw_prefix=LOG_SOURCES["apigw"][0],
        aws_prefix=LOG_SOURCES["aws_logs"][0],
        upload_prefix=PREFIXES["upload"],
        alb_function=names.function("alb_to_cloudwatch"),
        cwl_function=names.function("cwl_to_search"),
        access_function=names.function("access_log_to_search"),
        nginx_function=names.function("nginx_to_search"),
        apigw_function=names.function("apigw_to_search"),
        aws_logs_function=names.function("aws_logs_to_search"),
        serverlog_function=names.function("serverlog_to_csv"),
        upload_function=names.function("upload_url"),
        alert_function=names.function("log_alert"),
        upload_api_id=api_id,
        upload_api_url=f"{gateway}/{api_id}/{stage}/" if gateway else "",
        allowlist_param=names.allowlist_param,
        rules_param=names.rules_param,
        slack_secret_arn=secret_arn,
        name_prefix=inputs.name_prefix,
    )


def _resolve(fn: Function, placeholder: str, secret_arn: str) -> Function:
    """`fn` with the secret's name-derived ARN replaced by the created one (random suffix)."""
    env = {k: secret_arn if v == placeholder else v for k, v in fn.environment.items()}
    statements = tuple(
        replace(
            s, resources=tuple(secret_arn if r == f"{placeholder}*" else r for r in s.resources)
        )
        for s in fn.statements
    )
    return replace(fn, environment=env, statements=statements)


def deploy_function(
    endpoints: Endpoints, build_dir: Path, fn: Function, progress: Progress = print
) -> str:
    """Create or update one function (e.g. a test variant of a spec'd one); return its ARN.

    Its trigger is not deployed: invoke it directly, as an S3 notification would.
    """
    return _Deployer(endpoints, progress).function(fn, build_dir)


def deployment_path(directory: Path | None = None) -> Path:
    """Path of deployment.json in the state directory."""
    return (directory or state_dir()) / DEPLOYMENT_FILE


def save_deployment(deployment: Deployment, path: Path | None = None) -> Path:
    """Write deployment.json atomically and return its path."""
    target = path or deployment_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(deployment.to_json())
    tmp.replace(target)
    return target


def load_deployment(path: Path | None = None) -> Deployment:
    """Read deployment.json; FileNotFoundError says to run `logferry local deploy` first."""
    target = path or deployment_path()
    try:
        raw = json.loads(target.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{target} not found: run `logferry local deploy`") from None
    known = {name: raw[name] for name in Deployment.__dataclass_fields__ if name in raw}
    try:
        return Deployment(**known)
    except TypeError as error:
        raise ValueError(f"{target} is from an older deploy ({error}): run it again") from None
