data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

module "stream" {
  source = "../firehose_s3"

  stream_name                = var.stream_name
  bucket_arn                 = var.bucket_arn
  prefix                     = var.prefix
  compression_format         = "UNCOMPRESSED" # CloudWatch Logs already gzips every record
  buffering_size_mb          = var.buffering_size_mb
  buffering_interval_seconds = var.buffering_interval_seconds
  bucket_kms_key_arn         = var.bucket_kms_key_arn
  log_retention_days         = var.log_retention_days
  tags                       = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["logs.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "subscription" {
  name               = "${var.stream_name}-cwl"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "subscription" {
  statement {
    sid       = "PutToStream"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [module.stream.stream_arn]
  }
}

resource "aws_iam_role_policy" "subscription" {
  name   = "${var.stream_name}-put"
  role   = aws_iam_role.subscription.id
  policy = data.aws_iam_policy_document.subscription.json
}

resource "aws_cloudwatch_log_subscription_filter" "this" {
  for_each = toset(var.log_group_names)

  name            = "${var.stream_name}-firehose"
  log_group_name  = each.value
  filter_pattern  = var.filter_pattern
  destination_arn = module.stream.stream_arn
  role_arn        = aws_iam_role.subscription.arn

  depends_on = [aws_iam_role_policy.subscription]
}
