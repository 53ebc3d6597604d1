"""AWS's other log types through the deployed chain: each object under aws/ is shipped by
``aws_logs_to_search`` (``LOG_FORMAT=auto``), its format recognised from the key AWS writes.

The inputs are the golden files (written from the AWS docs' examples, broken lines included):
every record reaches search once, with the dataset of its format.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from logferry.local.chain import Chain

pytestmark = pytest.mark.e2e
TIMEOUT = 120.0
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ACCOUNT = "123456789012"


def keys(run_id: str) -> dict[str, str]:
    """A key of the shape AWS delivers each log type under, in the aws/ prefix."""
    day, run = "2026/12/02", hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return {
        "vpcflow/default.log": f"aws/AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/{day}/"
        f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-0a1b2c3d_20261202T0000Z_{run}.log.gz",
        "cloudtrail/records.json": f"aws/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{day}/"
        f"{ACCOUNT}_CloudTrail_us-east-1_20261202T0000Z_{run}.json.gz",
        "waf/firehose.log": f"aws/AWSLogs/{ACCOUNT}/WAFLogs/us-east-1/web-acl/{day}/00/00/"
        f"{ACCOUNT}_waflogs_us-east-1_web-acl_20261202T0000Z_{run}.log.gz",
        "cloudfront/standard.log": f"aws/cf/E2QWRUHAPOMQZL.2026-12-02-00.{run}.gz",
        "s3access/access.log": f"aws/s3/2026-12-02-00-00-00-{run.upper()}{'0' * 8}",
    }


@pytest.mark.parametrize("case", sorted(keys("x")))
def test_each_aws_log_type_is_recognised_and_shipped(chain: Chain, run_id: str, case: str) -> None:
    source = GOLDEN / case
    expected = [json.loads(line) for line in source.with_suffix(".ndjson").read_text().splitlines()]
    key = keys(run_id)[case]
    uri = chain.put(key, gzip.compress(source.read_bytes()))
    dataset = expected[0]["event"]["dataset"]
    chain.wait_count(chain.source_query(uri), len(expected), TIMEOUT, what=f"{case} documents")
    assert chain.count(chain.source_query(uri, dataset)) == len(expected)
    errors = {
        "bool": {"filter": [chain.source_query(uri)], "must": [{"exists": {"field": "error"}}]}
    }
    assert chain.count(errors) == sum("error" in doc for doc in expected)
