"""`LOGFERRY_DEPLOY=terraform`: apply `terraform/stacks/local` against the emulator instead of
the Python deployer, with the real AWS provider (needs registry access for `init`).

`terraform` or `tofu` from PATH (`TF=` chooses) runs `init` and `apply -auto-approve` with the
running components' URLs as the stack's variables; `deployment.json` is then written from the
stack's spec and what the apply created (the REST API id, the secret's ARN).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

from logferry.local.deploy import Deployment, account_id, describe, save_deployment
from logferry.local.endpoints import REGION, Endpoints, boto3_client, repo_root
from logferry.local.spec import Inputs, local_stack

Progress = Callable[[str], None]


def engine(explicit: str | None = None) -> str:
    """The Terraform binary: `explicit`, else `TF`, else tofu or terraform from PATH."""
    chosen = explicit or os.environ.get("TF") or shutil.which("tofu") or shutil.which("terraform")
    if not chosen:
        raise FileNotFoundError(
            "LOGFERRY_DEPLOY=terraform needs terraform or tofu on PATH (or TF=)"
        )
    return chosen


def terraform_deploy(
    endpoints: Endpoints, progress: Progress = print, tf: str | None = None
) -> Deployment:
    """Apply terraform/stacks/local to the emulator at `endpoints`; write deployment.json."""
    if not endpoints.search:
        raise ValueError("the local stack runs no search node: start it with search enabled")
    binary = engine(tf)
    stack = repo_root() / "terraform" / "stacks" / "local"
    search_engine = endpoints.search_engine or "elasticsearch"
    variables = {
        "aws_endpoint": endpoints.aws,
        "search_endpoint": endpoints.search,
        "search_engine": search_engine,
    }
    flags = [f"-var={name}={value}" for name, value in variables.items()]
    for step in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false", *flags]):
        progress(f"{binary} {step[0]} in {stack}")
        subprocess.run([binary, f"-chdir={stack}", *step], check=True)
    inputs = Inputs(
        account_id(endpoints), REGION, search_endpoint=endpoints.search, search_engine=search_engine
    )
    spec = local_stack(inputs)
    apis = boto3_client("apigateway", endpoints).get_rest_apis(limit=500)["items"]
    api_id = next(str(a["id"]) for a in apis if a["name"] == spec.routes[0].api)
    secret = boto3_client("secretsmanager", endpoints).describe_secret(
        SecretId=spec.secrets[0].name
    )
    deployment = describe(endpoints, inputs, api_id, str(secret["ARN"]))
    progress(f"deployment written to {save_deployment(deployment)}")
    return deployment
