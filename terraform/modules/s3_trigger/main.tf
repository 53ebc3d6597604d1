data "aws_caller_identity" "current" {}

locals {
  direct = { for k, t in var.targets : k => t if !t.via_sqs }
  queued = { for k, t in var.targets : k => t if t.via_sqs }
}

resource "aws_lambda_permission" "s3" {
  for_each = local.direct

  statement_id   = "AllowS3Invoke-${replace(var.bucket_name, ".", "-")}-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = each.value.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = var.bucket_arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_sqs_queue" "dlq" {
  for_each = local.queued

  name                      = "${var.queue_name_prefix}-${each.key}-dlq"
  message_retention_seconds = var.dlq_retention_seconds
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  for_each = local.queued

  name                       = "${var.queue_name_prefix}-${each.key}"
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = var.kms_key_arn == null ? true : null
  kms_master_key_id          = var.kms_key_arn
  tags                       = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

data "aws_iam_policy_document" "queue" {
  for_each = local.queued

  statement {
    sid       = "AllowBucketNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each = local.queued

  queue_url = aws_sqs_queue.this[each.key].id
  policy    = data.aws_iam_policy_document.queue[each.key].json
}

data "aws_iam_policy_document" "consume" {
  for_each = local.queued

  statement {
    sid = "ConsumeQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.this[each.key].arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptQueue"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "consume" {
  for_each = local.queued

  name   = "consume-${aws_sqs_queue.this[each.key].name}"
  role   = each.value.role_name
  policy = data.aws_iam_policy_document.consume[each.key].json
}

resource "aws_lambda_event_source_mapping" "this" {
  for_each = local.queued

  event_source_arn                   = aws_sqs_queue.this[each.key].arn
  function_name                      = each.value.function_arn
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = each.value.maximum_concurrency == null ? [] : [each.value.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  depends_on = [aws_iam_role_policy.consume]
}

resource "aws_s3_bucket_notification" "this" {
  bucket = var.bucket_name

  dynamic "lambda_function" {
    for_each = local.direct
    content {
      id                  = lambda_function.key
      lambda_function_arn = lambda_function.value.function_arn
      events              = lambda_function.value.events
      filter_prefix       = lambda_function.value.filter_prefix == "" ? null : lambda_function.value.filter_prefix
      filter_suffix       = lambda_function.value.filter_suffix == "" ? null : lambda_function.value.filter_suffix
    }
  }

  dynamic "queue" {
    for_each = local.queued
    content {
      id            = queue.key
      queue_arn     = aws_sqs_queue.this[queue.key].arn
      events        = queue.value.events
      filter_prefix = queue.value.filter_prefix == "" ? null : queue.value.filter_prefix
      filter_suffix = queue.value.filter_suffix == "" ? null : queue.value.filter_suffix
    }
  }

  depends_on = [
    aws_lambda_permission.s3,
    aws_sqs_queue_policy.this,
  ]
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  for_each = var.create_alarms ? local.queued : {}

  alarm_name          = "${aws_sqs_queue.dlq[each.key].name}-queued"
  alarm_description   = "S3 events for ${each.value.function_name} failed ${each.value.max_receive_count} times and wait in ${aws_sqs_queue.dlq[each.key].name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([var.alarm_sns_topic_arn])
  ok_actions          = compact([var.alarm_sns_topic_arn])
  tags                = var.tags
}
