data "aws_region" "current" {}

module "stream" {
  source = "../firehose_s3"

  stream_name                = var.stream_name
  bucket_arn                 = var.bucket_arn
  prefix                     = var.prefix
  compression_format         = "GZIP"
  buffering_size_mb          = var.buffering_size_mb
  buffering_interval_seconds = var.buffering_interval_seconds
  bucket_kms_key_arn         = var.bucket_kms_key_arn
  log_retention_days         = var.log_retention_days
  tags                       = var.tags
}

data "aws_iam_policy_document" "agent" {
  statement {
    sid       = "PutToStream"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [module.stream.stream_arn]
  }

  dynamic "statement" {
    for_each = var.agent_emit_metrics ? [1] : []
    content {
      sid     = "AgentMetrics"
      actions = ["cloudwatch:PutMetricData"]
      # wildcard: PutMetricData supports no resource-level permissions; the namespace condition scopes it.
      resources = ["*"]

      condition {
        test     = "StringEquals"
        variable = "cloudwatch:namespace"
        values   = ["AWSKinesisAgent"]
      }
    }
  }
}

resource "aws_iam_policy" "agent" {
  name        = "${var.stream_name}-agent"
  description = "Lets the Kinesis Agent on log servers put records into ${var.stream_name}."
  policy      = data.aws_iam_policy_document.agent.json
  tags        = var.tags
}

locals {
  # /etc/aws-kinesis/agent.json: raw lines are shipped as-is; logferry parses them (LOG_FORMAT).
  agent_config = {
    "cloudwatch.emitMetrics" = var.agent_emit_metrics
    "cloudwatch.endpoint"    = "monitoring.${data.aws_region.current.region}.amazonaws.com"
    "firehose.endpoint"      = "firehose.${data.aws_region.current.region}.amazonaws.com"
    flows = [for p in var.log_file_patterns : {
      filePattern     = p
      deliveryStream  = module.stream.stream_name
      initialPosition = "START_OF_FILE"
    }]
  }
}
