"""What `terraform/stacks/local` declares, as data: the local deployer's one input.

`local_stack(inputs)` applies the stack's settings and the pipeline module's naming rules
(`<prefix>-<key>` functions, `<prefix>-<account>-<region>-<kind>` buckets, `<prefix>-<key>`
trigger queues with a `-dlq`, `<function>-failures`...) to the stack's variables.
`logferry.local.plan_spec.spec_from_plan` reads the same `StackSpec` out of `tofu show -json`
of the stack's plan, so `tests/terraform/test_local_matches_plan.py` can compare them field by
field. Keep this module in step with `terraform/stacks/local/main.tf`.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNTIME = "python3.12"
HANDLER = "handler.handler"
SHIPPER_TIMEOUT = 300
SHIPPER_MEMORY = 512
LOG_RETENTION_DAYS = 1
UNRESERVED = -1
BATCH_SIZE = 10
MAX_RECEIVE_COUNT = 5
QUARANTINE_PREFIX = "quarantine"
INDEX_PREFIX = "logferry"
STAGE = "v1"
SQS_MAX_RETENTION = 1209600
"""14 days: the default retention of the failures queues and DLQs (the SQS maximum)."""
ALERT_SCHEDULE = "rate(5 minutes)"
PREFIXES = {
    "alb": "alb/AWSLogs/",
    "cwl": "cwl/",
    "access": "agent/",
    "upload": "uploads/",
}
"""Raw-bucket key prefixes of the pipeline module's own shippers (its defaults)."""
LOG_SOURCES = {
    "aws_logs": ("aws/", "auto"),
    "nginx": ("agent-nginx/", "nginx"),
    "apigw": ("apigw/", "apigw"),
}
"""`log_sources` of stacks/local: name -> (prefix, LOG_FORMAT); one `<name>_to_search` each."""


@dataclass(frozen=True)
class Inputs:
    """The stack's variables (terraform/stacks/local/variables.tf) and what data sources give."""

    account_id: str
    region: str = "us-east-1"
    name_prefix: str = "logferry"
    search_endpoint: str = "http://127.0.0.1:9200"
    search_engine: str = "elasticsearch"
    upload_allowed_cidrs: tuple[str, ...] = ("127.0.0.1/32",)
    alert_rules_json: str = '{"rules": []}'
    failures_retention_seconds: int = SQS_MAX_RETENTION
    dlq_retention_seconds: int = SQS_MAX_RETENTION


@dataclass(frozen=True)
class Trigger:
    """How raw-bucket objects reach a function: an S3 notification, direct or through SQS."""

    bucket: str
    prefix: str
    suffix: str
    via: str
    """"sqs" (bucket -> queue -> event source mapping) or "s3" (bucket -> function)."""
    queue: str | None = None
    dlq: str | None = None
    dlq_retention: int = SQS_MAX_RETENTION
    batch_size: int = BATCH_SIZE
    max_receive_count: int = MAX_RECEIVE_COUNT
    visibility_timeout: int = 6 * SHIPPER_TIMEOUT
    response_types: tuple[str, ...] = ("ReportBatchItemFailures",)

    @property
    def consume_policy(self) -> str | None:
        """The inline policy letting the function's role consume the queue (SQS only)."""
        return f"consume-{self.queue}" if self.queue else None


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement of a function's role."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Function:
    """One Lambda function with its role, log group, failure queue and trigger."""

    key: str
    name: str
    package: str
    description: str
    environment: dict[str, str]
    timeout: int = SHIPPER_TIMEOUT
    memory: int = SHIPPER_MEMORY
    runtime: str = RUNTIME
    handler: str = HANDLER
    reserved_concurrency: int = UNRESERVED
    log_retention_days: int = LOG_RETENTION_DAYS
    failure_queue: str | None = None
    """SQS queue of the asynchronous on-failure destination (None: no destination)."""
    failure_retention: int | None = SQS_MAX_RETENTION
    """Its message retention in seconds (None without a failure queue)."""
    maximum_retry_attempts: int = 2
    maximum_event_age: int = 21600
    trigger: Trigger | None = None
    statements: tuple[Statement, ...] = ()

    @property
    def role(self) -> str:
        """The execution role's name."""
        return f"{self.name}-role"

    @property
    def policy(self) -> str:
        """The role's inline policy name."""
        return f"{self.name}-policy"

    @property
    def log_group(self) -> str:
        """The function's CloudWatch Logs group."""
        return f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: on-demand, one string hash key, TTL on one attribute, encrypted,
    with point-in-time recovery (the pipeline module's checkpoints table)."""

    name: str
    hash_key: str = "pk"
    ttl_attribute: str = "expires_at"
    billing_mode: str = "PAY_PER_REQUEST"
    point_in_time_recovery: bool = True


@dataclass(frozen=True)
class LogGroup:
    """A CloudWatch Logs group other than a function's own."""

    name: str
    retention_days: int


@dataclass(frozen=True)
class Parameter:
    """An SSM parameter."""

    name: str
    type: str
    value: str


@dataclass(frozen=True)
class Secret:
    """A Secrets Manager secret (its value is set outside the deployment)."""

    name: str
    description: str


@dataclass(frozen=True)
class Schedule:
    """An EventBridge schedule rule invoking one function."""

    name: str
    expression: str
    function: str


@dataclass(frozen=True)
class Route:
    """A REST API method proxied to a function, deployed to a throttled, traced stage."""

    api: str
    stage: str
    method: str
    path: str
    function: str
    throttle_rate: float = 10
    throttle_burst: int = 20
    tracing: bool = True


@dataclass(frozen=True)
class Permission:
    """A resource-policy statement letting a service invoke a function."""

    function: str
    statement_id: str
    principal: str


@dataclass(frozen=True)
class StackSpec:
    """Every resource of the local stack the deployer creates and the plan declares."""

    buckets: tuple[str, ...]
    functions: tuple[Function, ...]
    versioned_buckets: tuple[str, ...] = ()
    log_groups: tuple[LogGroup, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    secrets: tuple[Secret, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    routes: tuple[Route, ...] = ()
    permissions: tuple[Permission, ...] = ()
    tables: tuple[Table, ...] = ()

    def function(self, key: str) -> Function:
        """The function with `key` (e.g. "alb_to_cloudwatch"); KeyError names it."""
        for fn in self.functions:
            if fn.key == key:
                return fn
        raise KeyError(f"no function {key!r} in the local stack: {[f.key for f in self.functions]}")


@dataclass(frozen=True)
class Names:
    """The naming rules of the pipeline module for one prefix, account and region."""

    prefix: str
    account_id: str
    region: str

    def bucket(self, kind: str) -> str:
        """`<prefix>-<account>-<region>-<raw|analyzed|quarantine>`."""
        return f"{self.prefix}-{self.account_id}-{self.region}-{kind}"

    def function(self, key: str) -> str:
        """`<prefix>-<key>`."""
        return f"{self.prefix}-{key}"

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this account and region."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    @property
    def checkpoint_table(self) -> str:
        """The DynamoDB table of per-object progress (every shipper's CHECKPOINT_TABLE)."""
        return f"{self.prefix}-checkpoints"

    @property
    def alb_log_group(self) -> str:
        """The CloudWatch Logs group receiving ALB lines."""
        return f"/{self.prefix}/alb"

    @property
    def allowlist_param(self) -> str:
        """The SSM StringList of CIDRs allowed to request upload URLs."""
        return f"/{self.prefix}/upload/allowlist"

    @property
    def server_key_prefix(self) -> str:
        """The name prefix of the per-server upload-key secrets (`<prefix><server>`)."""
        return f"{self.prefix}/upload/servers/"

    @property
    def rules_param(self) -> str:
        """The SSM parameter holding the alert rules."""
        return f"/{self.prefix}/alert/rules"

    @property
    def state_prefix(self) -> str:
        """The SSM path of the alert function's window state."""
        return f"/{self.prefix}/alert/state/"

    @property
    def slack_secret(self) -> str:
        """The Slack webhook secret."""
        return f"{self.prefix}/slack-webhook"


def _shipper(
    names: Names,
    inputs: Inputs,
    key: str,
    package: str,
    description: str,
    env: dict[str, str],
    prefix: str,
    suffix: str = "",
    writes: tuple[str, ...] = (),
    log_groups: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
) -> Function:
    name = names.function(key)
    raw = names.bucket("raw")
    trigger = Trigger(
        raw,
        prefix,
        suffix,
        "sqs",
        names.function(key),
        f"{names.function(key)}-dlq",
        dlq_retention=inputs.dlq_retention_seconds,
    )
    quarantine = f"arn:aws:s3:::{names.bucket('quarantine')}/{QUARANTINE_PREFIX}*"
    statements = [
        Statement(
            "ReadObjects",
            ("s3:GetObject", "s3:GetObjectVersion"),
            (f"arn:aws:s3:::{raw}/{prefix}*", *reads),
        ),
        Statement("WriteObjects", ("s3:PutObject",), (*writes, quarantine)),
    ]
    if log_groups:
        arns = tuple(
            a
            for g in log_groups
            for a in (names.arn("logs", f"log-group:{g}"), names.arn("logs", f"log-group:{g}:*"))
        )
        actions = (
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        )
        statements.append(Statement("WriteLogGroups", actions, arns))
    table = names.arn("dynamodb", f"table/{names.checkpoint_table}")
    items = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
    statements += [
        Statement("UseTables", items, (table,)),
        Statement("SendFailures", ("sqs:SendMessage",), (names.arn("sqs", f"{name}-failures"),)),
        Statement(
            "InvokeSelf", ("lambda:InvokeFunction",), (names.arn("lambda", f"function:{name}"),)
        ),
    ]
    return Function(
        key,
        name,
        package,
        description,
        {**env, "CHECKPOINT_TABLE": names.checkpoint_table},
        failure_queue=f"{name}-failures",
        failure_retention=inputs.failures_retention_seconds,
        trigger=trigger,
        statements=tuple(statements),
    )


def local_stack(inputs: Inputs) -> StackSpec:
    """The resources `terraform/stacks/local` declares for `inputs`."""
    names = Names(inputs.name_prefix, inputs.account_id, inputs.region)
    search_conn = {
        "SEARCH_URL": inputs.search_endpoint,
        "SEARCH_ENGINE": inputs.search_engine,
        "SEARCH_AUTH": "none",
        "INDEX_PREFIX": INDEX_PREFIX,
    }
    quarantine_env = {
        "QUARANTINE_BUCKET": names.bucket("quarantine"),
        "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
    }
    search_env = {**search_conn, **quarantine_env}
    sinks = "cloudwatch,search" if inputs.search_endpoint else "cloudwatch"
    shippers = [
        _shipper(
            names,
            inputs,
            "alb_to_cloudwatch",
            "alb_to_cloudwatch",
            "ALB access logs from S3 to CloudWatch Logs and search",
            {**search_env, "LOG_GROUP": names.alb_log_group, "SINKS": sinks},
            PREFIXES["alb"],
            ".log.gz",
            log_groups=(names.alb_log_group,),
        ),
        _shipper(
            names,
            inputs,
            "cwl_to_search",
            "cwl_to_search",
            "CloudWatch Logs subscription data (Firehose objects) to search",
            {**search_env, "SINKS": "search"},
            PREFIXES["cwl"],
        ),
        _shipper(
            names,
            inputs,
            "access_log_to_search",
            "access_log_to_search",
            "Apache/nginx access logs (Kinesis Agent via Firehose) to search",
            {**search_env, "LOG_FORMAT": "apache", "SINKS": "search,status_counts"},
            PREFIXES["access"],
        ),
        _shipper(
            names,
            inputs,
            "serverlog_to_csv",
            "serverlog_to_csv",
            "Uploaded uptime+vmstat server logs to CSV",
            {**quarantine_env, "OUTPUT_BUCKET": names.bucket("analyzed"), "SINKS": "csv"},
            PREFIXES["upload"],
            writes=(f"arn:aws:s3:::{names.bucket('analyzed')}/*",),
            reads=(f"arn:aws:s3:::{names.bucket('analyzed')}/*",),  # a continuation's CSV
        ),
    ]
    shippers += [
        _shipper(
            names,
            inputs,
            f"{source}_to_search",
            "access_log_to_search",
            f"{log_format} logs under {prefix} to search",
            {**search_env, "LOG_FORMAT": log_format, "SINKS": "search"},
            prefix,
        )
        for source, (prefix, log_format) in LOG_SOURCES.items()
    ]
    upload = Function(
        "upload_url",
        names.function("upload_url"),
        "upload_url",
        "Presigned S3 PUT URLs for on-prem log uploads",
        {
            "RAW_BUCKET": names.bucket("raw"),
            "UPLOAD_PREFIX": PREFIXES["upload"],
            "ALLOWLIST_PARAM": names.allowlist_param,
            "SERVER_KEY_PREFIX": names.server_key_prefix,
            "URL_TTL_SECONDS": "300",
            "MAX_AGE_DAYS": "31",
        },
        timeout=10,
        memory=256,
        failure_retention=None,
        statements=(
            Statement(
                "WriteObjects",
                ("s3:PutObject",),
                (f"arn:aws:s3:::{names.bucket('raw')}/{PREFIXES['upload']}*",),
            ),
            Statement(
                "ReadSecrets",
                ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
                (names.arn("secretsmanager", f"secret:{names.server_key_prefix}*"),),
            ),
            Statement(
                "ReadParameters",
                ("ssm:GetParameter", "ssm:GetParameters"),
                (names.arn("ssm", f"parameter{names.allowlist_param}"),),
            ),
        ),
    )
    alert_name = names.function("log_alert")
    secret_arn = names.arn("secretsmanager", f"secret:{names.slack_secret}")
    alert = Function(
        "log_alert",
        alert_name,
        "log_alert",
        "Scheduled log queries and Slack alerts",
        {
            **search_conn,
            "RULES_PARAM": names.rules_param,
            "SLACK_SECRET_ARN": secret_arn,
            "STATE_PARAM_PREFIX": names.state_prefix,
        },
        timeout=120,
        memory=256,
        failure_queue=f"{alert_name}-failures",
        maximum_retry_attempts=0,
        maximum_event_age=300,
        statements=(
            Statement(
                "QueryLogGroups",
                ("logs:StartQuery",),
                (
                    names.arn("logs", f"log-group:{names.alb_log_group}"),
                    names.arn("logs", f"log-group:{names.alb_log_group}:*"),
                ),
            ),
            Statement(
                "ReadSecrets",
                ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
                (f"{secret_arn}*",),
            ),
            Statement(
                "ReadParameters",
                ("ssm:GetParameter", "ssm:GetParameters"),
                (names.arn("ssm", f"parameter{names.rules_param}"),),
            ),
            Statement(
                "WriteParameters",
                ("ssm:GetParameter", "ssm:PutParameter"),
                (names.arn("ssm", f"parameter{names.state_prefix}*"),),
            ),
            Statement(
                "SendFailures", ("sqs:SendMessage",), (names.arn("sqs", f"{alert_name}-failures"),)
            ),
            Statement("ReadQueryResults", ("logs:GetQueryResults", "logs:StopQuery"), ("*",)),
        ),
    )
    return StackSpec(
        buckets=tuple(names.bucket(kind) for kind in ("raw", "analyzed", "quarantine")),
        functions=(*shippers, upload, alert),
        versioned_buckets=(names.bucket("raw"), names.bucket("analyzed")),
        log_groups=(LogGroup(names.alb_log_group, 90),),
        parameters=(
            Parameter(names.allowlist_param, "StringList", ",".join(inputs.upload_allowed_cidrs)),
            Parameter(names.rules_param, "String", inputs.alert_rules_json),
        ),
        secrets=(
            Secret(
                names.slack_secret,
                "Slack incoming-webhook URL for logferry alerts (value set outside Terraform).",
            ),
        ),
        schedules=(Schedule(f"{inputs.name_prefix}-alert-schedule", ALERT_SCHEDULE, alert_name),),
        routes=(
            Route(f"{inputs.name_prefix}-upload", STAGE, "GET", "/", names.function("upload_url")),
        ),
        permissions=(
            Permission(alert_name, "AllowEventBridgeInvoke", "events.amazonaws.com"),
            Permission(
                names.function("upload_url"), "AllowApiGatewayInvoke", "apigateway.amazonaws.com"
            ),
        ),
        tables=(Table(names.checkpoint_table),),
    )


def packages() -> list[str]:
    """The zips the local stack deploys (one per distinct function package)."""
    return sorted({fn.package for fn in local_stack(Inputs("0")).functions})
