# Every alarm of the pipeline (function errors and throttles, failure queues, trigger DLQs)
# notifies one SNS topic: var.alarm_sns_topic_arn, else <name_prefix>-alarms created here
# (when function_settings.create_alarms; without alarms there is no topic),
# encrypted with its own key (CloudWatch cannot publish to a topic under the AWS-managed
# alias/aws/sns key, whose policy does not admit cloudwatch.amazonaws.com).

locals {
  create_alarm_topic = var.function_settings.create_alarms && var.alarm_sns_topic_arn == null
  alarm_topic_arn    = local.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_sns_topic_arn
}

data "aws_iam_policy_document" "alarm_key" {
  #checkov:skip=CKV_AWS_109: a key policy: "*" is this key, and the account root keeps administering it (the KMS default policy)
  #checkov:skip=CKV_AWS_111: a key policy: "*" is this key; writes are limited to the account root and CloudWatch from this account
  #checkov:skip=CKV_AWS_356: a key policy: "*" is the only resource a key policy can name (the key itself)
  count = local.create_alarm_topic ? 1 : 0

  statement {
    sid     = "AccountAdministers"
    actions = ["kms:*"]
    # wildcard: in a key policy "*" is the key itself
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  statement {
    sid     = "CloudWatchPublishes"
    actions = ["kms:Decrypt", "kms:GenerateDataKey*"]
    # wildcard: in a key policy "*" is the key itself
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  description             = "Encrypts the ${var.name_prefix}-alarms SNS topic (CloudWatch alarms publish to it)."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarm_key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name          = "alias/${var.name_prefix}-alarms"
  target_key_id = aws_kms_key.alarms[0].key_id
}

resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms[0].arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alarm_topic" {
  count = local.create_alarm_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }

  statement {
    sid = "AccountManages"
    actions = [
      "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic",
      "sns:Publish", "sns:DeleteTopic", "sns:TagResource", "sns:UntagResource",
    ]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarm_topic[0].json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each = local.create_alarm_topic ? toset(var.alarm_email_addresses) : toset([])

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

# Dead ends: what a shipper could not ship. Each shipper publishes Parked, Failed and
# ObjectErrors per object (shared/logferry/metrics.py: namespace logferry, dimensions service =
# the function name and format = the object's format). The format varies by object (auto
# picks one per key), and an alarm on a plain metric must name every dimension, so these
# alarms sum over all formats with a Metrics Insights query. Parked > 0 is quarantine growth
# as it happens (every parked record is a write to the quarantine); the quarantine bucket's
# daily NumberOfObjects (S3 storage metrics are per bucket and storage type, no filters) says
# parked records still wait for `logferry replay`, a day after they were parked.
locals {
  dead_end_metrics = {
    parked        = { metric = "Parked", threshold = var.dead_end_alarms.parked_threshold, what = "parked records in the quarantine" }
    failed        = { metric = "Failed", threshold = var.dead_end_alarms.failed_threshold, what = "failed to ship records" }
    object-errors = { metric = "ObjectErrors", threshold = var.dead_end_alarms.object_errors_threshold, what = "could not read or process objects" }
  }
  dead_end_alarms = var.function_settings.create_alarms ? {
    for pair in setproduct(local.enabled_shippers, keys(local.dead_end_metrics)) :
    "${pair[0]}/${pair[1]}" => merge(local.dead_end_metrics[pair[1]], { shipper = pair[0], suffix = pair[1] })
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "dead_end" {
  for_each = local.dead_end_alarms

  alarm_name          = "${var.name_prefix}-${each.value.shipper}-${each.value.suffix}"
  alarm_description   = "${module.shipper[each.value.shipper].function_name} ${each.value.what}: Sum of logferry ${each.value.metric} (every format) above ${each.value.threshold} in ${var.dead_end_alarms.period_seconds} s."
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  evaluation_periods  = var.dead_end_alarms.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([local.alarm_topic_arn])
  ok_actions          = compact([local.alarm_topic_arn])
  tags                = var.tags

  metric_query {
    id          = "total"
    expression  = "SELECT SUM(${each.value.metric}) FROM SCHEMA(\"logferry\", format, service) WHERE service = '${module.shipper[each.value.shipper].function_name}'"
    period      = var.dead_end_alarms.period_seconds
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "quarantine_objects" {
  count = var.function_settings.create_alarms ? 1 : 0

  alarm_name          = "${var.name_prefix}-quarantine-objects"
  alarm_description   = "The quarantine bucket ${module.quarantine.bucket_id} holds more than ${var.dead_end_alarms.quarantine_objects_threshold} objects: parked records wait for `logferry replay` (they expire after ${coalesce(var.quarantine_expiration_days, 0)} days; 0 = never)."
  namespace           = "AWS/S3"
  metric_name         = "NumberOfObjects"
  dimensions          = { BucketName = module.quarantine.bucket_id, StorageType = "AllStorageTypes" }
  statistic           = "Average"
  period              = 86400
  evaluation_periods  = 1
  threshold           = var.dead_end_alarms.quarantine_objects_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([local.alarm_topic_arn])
  ok_actions          = compact([local.alarm_topic_arn])
  tags                = var.tags
}
