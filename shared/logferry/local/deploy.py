"""Deploy the pipeline into the local emulator: the interim twin of `terraform/stacks/local`.

Same names and environment as the stack (`<prefix>-<account>-raw|analyzed|quarantine` buckets,
functions named after their folders, `/<prefix>/alb` log group, `/<prefix>/upload/allowlist`,
REST API `<prefix>-upload` with stage `v1`), plus two local-only variants of
`access_log_to_search` (nginx and API Gateway logs) so one deployment covers every format.
Every step is create-or-update, so running it again updates and never duplicates.
The result is written as a flat `deployment.json` in the state directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from logferry.local.endpoints import REGION, Endpoints, boto3_client, state_dir

Progress = Callable[[str], None]
DEPLOYMENT_FILE = "deployment.json"
ACCOUNT_ID = "123456789012"
"""The account moto answers for."""
RUNTIME = "python3.12"
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
class FunctionPlan:
    """One function to deploy: its zip, settings and (for S3-triggered ones) key filter."""

    name: str
    package: str
    environment: dict[str, str]
    prefix: str | None = None
    suffix: str = ""
    timeout: int = 300
    memory: int = 512
    description: str = ""


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
    upload_api_id: str
    upload_api_url: str
    allowlist_param: str

    def functions(self) -> list[str]:
        """Names of every deployed function."""
        return [value for key, value in asdict(self).items() if key.endswith("_function")]

    def to_json(self) -> str:
        """The deployment.json text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Names:
    """Resource names derived from the prefix, as the Terraform pipeline module derives them."""

    prefix: str = "logferry"
    account_id: str = ACCOUNT_ID

    def bucket(self, kind: str) -> str:
        """`<prefix>-<account>-<raw|analyzed|quarantine>`."""
        return f"{self.prefix}-{self.account_id}-{kind}"

    @property
    def alb_log_group(self) -> str:
        """The CloudWatch Logs group receiving ALB lines."""
        return f"/{self.prefix}/alb"

    @property
    def allowlist_param(self) -> str:
        """The SSM StringList of CIDRs allowed to request upload URLs."""
        return f"/{self.prefix}/upload/allowlist"

    @property
    def upload_api(self) -> str:
        """The REST API serving upload URLs."""
        return f"{self.prefix}-upload"


PREFIXES = {
    "alb": "alb/AWSLogs/",
    "cwl": "cwl/",
    "access": "agent/",
    "nginx": "agent-nginx/",
    "apigw": "apigw/",
    "upload": "uploads/",
    "aws": "aws/",
}
"""Raw-bucket key prefixes (the stack's defaults; nginx and apigw are local-only extras)."""
QUARANTINE_PREFIX = "quarantine"
INDEX_PREFIX = "logferry"
STAGE = "v1"


def plan(names: Names, search_url: str, search_engine: str) -> list[FunctionPlan]:
    """The functions of the local stack with their environment, as terraform sets it."""
    search_env = {
        "SEARCH_URL": search_url,
        "SEARCH_ENGINE": search_engine,
        "SEARCH_AUTH": "none",
        "INDEX_PREFIX": INDEX_PREFIX,
        "QUARANTINE_BUCKET": names.bucket("quarantine"),
        "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
    }
    access = "access_log_to_search"
    return [
        FunctionPlan(
            "alb_to_cloudwatch",
            "alb_to_cloudwatch",
            {**search_env, "LOG_GROUP": names.alb_log_group, "SINKS": "cloudwatch,search"},
            PREFIXES["alb"],
            ".log.gz",
            description="ALB access logs from S3 to CloudWatch Logs and search",
        ),
        FunctionPlan(
            "cwl_to_search",
            "cwl_to_search",
            {**search_env, "SINKS": "search"},
            PREFIXES["cwl"],
            description="CloudWatch Logs subscription data (Firehose objects) to search",
        ),
        FunctionPlan(
            access,
            access,
            {**search_env, "LOG_FORMAT": "apache", "SINKS": "search,status_counts"},
            PREFIXES["access"],
            description="Apache access logs to search",
        ),
        FunctionPlan(
            f"{access}_nginx",
            access,
            {**search_env, "LOG_FORMAT": "nginx", "SINKS": "search,status_counts"},
            PREFIXES["nginx"],
            description="nginx access logs to search (local-only variant)",
        ),
        FunctionPlan(
            "apigw_to_search",
            access,
            {**search_env, "LOG_FORMAT": "apigw", "SINKS": "search,status_counts"},
            PREFIXES["apigw"],
            description="API Gateway access logs to search (local-only variant)",
        ),
        FunctionPlan(
            "aws_logs_to_search",
            access,
            {**search_env, "LOG_FORMAT": "auto", "SINKS": "search"},
            PREFIXES["aws"],
            description="auto logs under aws/ to search (the stack's log_sources.aws_logs)",
        ),
        FunctionPlan(
            "serverlog_to_csv",
            "serverlog_to_csv",
            {"OUTPUT_BUCKET": names.bucket("analyzed"), "SINKS": "csv"},
            PREFIXES["upload"],
            description="Uploaded uptime+vmstat server logs to CSV",
        ),
        FunctionPlan(
            "upload_url",
            "upload_url",
            {
                "RAW_BUCKET": names.bucket("raw"),
                "UPLOAD_PREFIX": PREFIXES["upload"],
                "ALLOWLIST_PARAM": names.allowlist_param,
                "URL_TTL_SECONDS": "300",
                "MAX_AGE_DAYS": "31",
            },
            timeout=10,
            memory=256,
            description="Presigned S3 PUT URLs for on-prem log uploads",
        ),
    ]


def _code(code: str, error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) == code


class _Deployer:
    """The create-or-update steps, sharing clients and the progress callback."""

    def __init__(self, endpoints: Endpoints, progress: Progress) -> None:
        self.progress = progress
        self.s3 = boto3_client("s3", endpoints)
        self.logs = boto3_client("logs", endpoints)
        self.iam = boto3_client("iam", endpoints)
        self.lam = boto3_client("lambda", endpoints)
        self.ssm = boto3_client("ssm", endpoints)
        self.apigw = boto3_client("apigateway", endpoints)

    def bucket(self, name: str) -> None:
        try:
            self.s3.head_bucket(Bucket=name)
            self.progress(f"bucket {name}: exists")
        except ClientError:
            self.s3.create_bucket(Bucket=name)
            self.progress(f"bucket {name}: created")

    def log_group(self, name: str, retention_days: int) -> None:
        try:
            self.logs.create_log_group(logGroupName=name)
        except ClientError as error:
            if not _code("ResourceAlreadyExistsException", error):
                raise
        self.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)

    def role(self, name: str) -> str:
        try:
            return str(self.iam.get_role(RoleName=name)["Role"]["Arn"])
        except ClientError:
            created = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=ASSUME_LAMBDA)
            return str(created["Role"]["Arn"])

    def function(self, fn: FunctionPlan, build_dir: Path) -> str:
        zip_path = build_dir / f"{fn.package}.zip"
        if not zip_path.is_file():
            raise FileNotFoundError(f"{zip_path} not found: build the zips with `make build`")
        code = zip_path.read_bytes()
        self.log_group(f"/aws/lambda/{fn.name}", 1)
        config: dict[str, Any] = {
            "FunctionName": fn.name,
            "Role": self.role(f"{fn.name}-role"),
            "Handler": "handler.handler",
            "Runtime": RUNTIME,
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
            self.progress(f"function {fn.name}: created from {zip_path.name}")
            return arn
        digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
        same = current.get("CodeSha256") == digest
        if not same:
            self.lam.update_function_code(FunctionName=fn.name, ZipFile=code)
        arn = str(self.lam.update_function_configuration(**config)["FunctionArn"])
        what = "configuration updated, code unchanged" if same else "updated"
        self.progress(f"function {fn.name}: {what} from {zip_path.name}")
        return arn

    def allow_s3(self, function: str, bucket: str) -> None:
        try:
            self.lam.add_permission(
                FunctionName=function,
                StatementId=f"AllowS3Invoke-{bucket}-{function}",
                Action="lambda:InvokeFunction",
                Principal="s3.amazonaws.com",
                SourceArn=f"arn:aws:s3:::{bucket}",
                SourceAccount=ACCOUNT_ID,
            )
        except ClientError as error:
            if not _code("ResourceConflictException", error):
                raise

    def notifications(self, bucket: str, targets: list[tuple[FunctionPlan, str]]) -> None:
        """Replace the bucket's notification configuration (so re-runs never duplicate)."""
        configs = []
        for fn, arn in targets:
            rules = [{"Name": "prefix", "Value": fn.prefix}]
            if fn.suffix:
                rules.append({"Name": "suffix", "Value": fn.suffix})
            configs.append(
                {
                    "Id": fn.name,
                    "LambdaFunctionArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": rules}},
                }
            )
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configs}
        )
        self.progress(f"bucket {bucket}: {len(configs)} notifications")

    def allowlist(self, name: str, cidrs: list[str]) -> None:
        self.ssm.put_parameter(Name=name, Value=",".join(cidrs), Type="StringList", Overwrite=True)

    def upload_api(self, name: str, function_arn: str) -> str:
        """The REST API `GET /` -> upload_url (Lambda proxy), deployed to stage v1."""
        apis = self.apigw.get_rest_apis(limit=500)["items"]
        api = next((a for a in apis if a["name"] == name), None)
        if api is None:
            api = self.apigw.create_rest_api(
                name=name, endpointConfiguration={"types": ["REGIONAL"]}
            )
        api_id = str(api["id"])
        resources = self.apigw.get_resources(restApiId=api_id)["items"]
        root = next(r["id"] for r in resources if r["path"] == "/")
        if "GET" not in next(r for r in resources if r["path"] == "/").get("resourceMethods", {}):
            self.apigw.put_method(
                restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
            )
        uri = (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )
        self.apigw.put_integration(
            restApiId=api_id,
            resourceId=root,
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
        self.apigw.create_deployment(restApiId=api_id, stageName=STAGE)
        self.progress(f"REST API {name} ({api_id}): GET / -> upload_url, stage {STAGE}")
        return api_id


def deploy(
    endpoints: Endpoints,
    build_dir: Path,
    progress: Progress = print,
    *,
    prefix: str = "logferry",
    allowed_cidrs: list[str] | None = None,
) -> Deployment:
    """Create or update the whole local pipeline and write `deployment.json`."""
    if not endpoints.search:
        raise ValueError("the local stack runs no search node: start it with search enabled")
    names = Names(prefix)
    engine = endpoints.search_engine or "elasticsearch"
    step = _Deployer(endpoints, progress)
    for kind in ("raw", "analyzed", "quarantine"):
        step.bucket(names.bucket(kind))
    step.log_group(names.alb_log_group, 90)
    step.allowlist(names.allowlist_param, allowed_cidrs or ["127.0.0.1/32"])
    functions = plan(names, endpoints.search, engine)
    arns = {fn.name: step.function(fn, build_dir) for fn in functions}
    raw = names.bucket("raw")
    triggered = [fn for fn in functions if fn.prefix is not None]
    for fn in triggered:
        step.allow_s3(fn.name, raw)
    step.notifications(raw, [(fn, arns[fn.name]) for fn in triggered])
    api_id = step.upload_api(names.upload_api, arns["upload_url"])
    gateway = (endpoints.gateway or "").rstrip("/")
    deployment = Deployment(
        region=REGION,
        account_id=names.account_id,
        aws_endpoint=endpoints.aws,
        search_url=endpoints.search,
        search_engine=engine,
        raw_bucket=raw,
        analyzed_bucket=names.bucket("analyzed"),
        quarantine_bucket=names.bucket("quarantine"),
        quarantine_prefix=QUARANTINE_PREFIX,
        index_prefix=INDEX_PREFIX,
        alb_log_group=names.alb_log_group,
        alb_prefix=PREFIXES["alb"],
        cwl_prefix=PREFIXES["cwl"],
        access_prefix=PREFIXES["access"],
        nginx_prefix=PREFIXES["nginx"],
        apigw_prefix=PREFIXES["apigw"],
        aws_prefix=PREFIXES["aws"],
        upload_prefix=PREFIXES["upload"],
        alb_function="alb_to_cloudwatch",
        cwl_function="cwl_to_search",
        access_function="access_log_to_search",
        nginx_function="access_log_to_search_nginx",
        apigw_function="apigw_to_search",
        aws_logs_function="aws_logs_to_search",
        serverlog_function="serverlog_to_csv",
        upload_function="upload_url",
        upload_api_id=api_id,
        upload_api_url=f"{gateway}/{api_id}/{STAGE}/" if gateway else "",
        allowlist_param=names.allowlist_param,
    )
    path = save_deployment(deployment)
    progress(f"deployment written to {path}")
    return deployment


def deploy_function(
    endpoints: Endpoints, build_dir: Path, fn: FunctionPlan, progress: Progress = print
) -> str:
    """Create or update one function (e.g. a test variant of a planned one); return its ARN.

    No trigger is added: invoke it directly, as an S3 notification would.
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
    return Deployment(**known)
