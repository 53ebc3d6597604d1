"""The Docker-free local stack: real processes on 127.0.0.1 standing in for AWS, search and Slack.

Components (`logferry local up|down|status`, i.e. `make up/down/status`):
  aws        moto server; Lambda zips run as warm host subprocesses (`emulator`, `runner`)
  search     OpenSearch/Elasticsearch node (`search_node`); `LOGFERRY_SEARCH=none` skips it
  slack      webhook capture server (`slack_capture`)
  gateway    API Gateway Lambda-proxy front end (`gateway`)
  scheduler  fires EventBridge schedule rules (`scheduler`)
Ports: `LOGFERRY_{AWS,SEARCH,SLACK,GATEWAY}_PORT` (a number or `auto`). State, logs and
`endpoints.json`: `LOGFERRY_STATE_DIR` (default `<repo>/.local-stack`).
Tests: `LocalStack` in `logferry.local.stack`; `load_endpoints`, `boto3_client`, `wait_for` here.
"""

from logferry.local.endpoints import Endpoints, boto3_client, load_endpoints, wait_for

__all__ = ["Endpoints", "boto3_client", "load_endpoints", "wait_for"]
