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
