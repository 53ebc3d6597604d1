# Offline tests of the s3_trigger module: mock AWS provider, known account.
# Run: scripts/tofu -chdir=terraform/modules/s3_trigger init -backend=false && scripts/tofu -chdir=terraform/modules/s3_trigger test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

override_resource {
  target = aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/logferry-alb_to_cloudwatch"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/logferry-alb_to_cloudwatch"
  }
}

override_resource {
  target = aws_sqs_queue.dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch-dlq" }
}

variables {
  bucket_name         = "logferry-123456789012-eu-west-1-raw"
  bucket_arn          = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  queue_name_prefix   = "logferry"
  alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:logferry-alarms"
  targets = {
    alb_to_cloudwatch = {
      function_name              = "logferry-alb_to_cloudwatch"
      function_arn               = "arn:aws:lambda:eu-west-1:123456789012:function:logferry-alb_to_cloudwatch"
      role_name                  = "logferry-alb_to_cloudwatch-role"
      filter_prefix              = "alb/AWSLogs/"
      filter_suffix              = ".log.gz"
      via_sqs                    = true
      visibility_timeout_seconds = 1800
      maximum_concurrency        = 5
    }
    serverlog_to_csv = {
      function_name = "logferry-serverlog_to_csv"
      function_arn  = "arn:aws:lambda:eu-west-1:123456789012:function:logferry-serverlog_to_csv"
      filter_prefix = "uploads/"
    }
  }
}

run "queue_and_dlq_names_carry_the_prefix" {
  command = plan

  assert {
    condition     = toset(keys(aws_sqs_queue.this)) == toset(["alb_to_cloudwatch"]) && toset(keys(aws_sqs_queue.dlq)) == toset(["alb_to_cloudwatch"])
    error_message = "Only via_sqs targets get a queue and a dead-letter queue."
  }
  assert {
    condition     = aws_sqs_queue.this["alb_to_cloudwatch"].name == "logferry-alb_to_cloudwatch"
    error_message = "The trigger queue must be named <queue_name_prefix>-<key>."
  }
  assert {
    condition     = aws_sqs_queue.dlq["alb_to_cloudwatch"].name == "logferry-alb_to_cloudwatch-dlq"
    error_message = "The dead-letter queue must be named <queue_name_prefix>-<key>-dlq."
  }
  assert {
    condition     = aws_iam_role_policy.consume["alb_to_cloudwatch"].name == "consume-logferry-alb_to_cloudwatch" && aws_iam_role_policy.consume["alb_to_cloudwatch"].role == "logferry-alb_to_cloudwatch-role"
    error_message = "The consume policy must be named after the queue and attached to the function's role."
  }
  assert {
    condition     = aws_sqs_queue.this["alb_to_cloudwatch"].sqs_managed_sse_enabled && aws_sqs_queue.dlq["alb_to_cloudwatch"].sqs_managed_sse_enabled
    error_message = "Both queues must be encrypted (SSE-SQS without a KMS key)."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.this["alb_to_cloudwatch"].redrive_policy) == { deadLetterTargetArn = "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch-dlq", maxReceiveCount = 5 }
    error_message = "The trigger queue must redrive to its DLQ after 5 receives."
  }
  assert {
    condition     = aws_sqs_queue.this["alb_to_cloudwatch"].visibility_timeout_seconds == 1800
    error_message = "visibility_timeout_seconds must reach the queue."
  }
}

run "every_dlq_has_an_alarm_with_an_action" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.dlq)) == toset(keys(aws_sqs_queue.dlq))
    error_message = "Every dead-letter queue must have an alarm."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq["alb_to_cloudwatch"].alarm_name == "logferry-alb_to_cloudwatch-dlq-queued"
    error_message = "The DLQ alarm must be named <queue_name_prefix>-<key>-dlq-queued."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq["alb_to_cloudwatch"].dimensions["QueueName"] == "logferry-alb_to_cloudwatch-dlq"
    error_message = "The DLQ alarm must watch the dead-letter queue."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq["alb_to_cloudwatch"].metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.dlq["alb_to_cloudwatch"].threshold == 0 && aws_cloudwatch_metric_alarm.dlq["alb_to_cloudwatch"].comparison_operator == "GreaterThanThreshold"
    error_message = "The DLQ alarm must fire on any visible message."
  }
  assert {
    condition     = tolist(aws_cloudwatch_metric_alarm.dlq["alb_to_cloudwatch"].alarm_actions) == tolist(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"])
    error_message = "The DLQ alarm must notify alarm_sns_topic_arn."
  }
}

run "notification_filters" {
  command = plan

  assert {
    condition     = aws_s3_bucket_notification.this.bucket == "logferry-123456789012-eu-west-1-raw"
    error_message = "The notification must be on the given bucket."
  }
  assert {
    condition = (
      length(aws_s3_bucket_notification.this.queue) == 1 &&
      one(aws_s3_bucket_notification.this.queue).id == "alb_to_cloudwatch" &&
      one(aws_s3_bucket_notification.this.queue).queue_arn == "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch" &&
      one(aws_s3_bucket_notification.this.queue).filter_prefix == "alb/AWSLogs/" &&
      one(aws_s3_bucket_notification.this.queue).filter_suffix == ".log.gz" &&
      toset(one(aws_s3_bucket_notification.this.queue).events) == toset(["s3:ObjectCreated:*"])
    )
    error_message = "The SQS target must be notified through its queue with its prefix and suffix on ObjectCreated."
  }
  assert {
    condition     = length(aws_s3_bucket_notification.this.lambda_function) == 1 && one(aws_s3_bucket_notification.this.lambda_function).lambda_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:logferry-serverlog_to_csv"
    error_message = "The direct target must be notified by function ARN."
  }
  assert {
    condition     = one(aws_s3_bucket_notification.this.lambda_function).filter_prefix == "uploads/" && one(aws_s3_bucket_notification.this.lambda_function).filter_suffix == null
    error_message = "An empty suffix must be left unset (null), the prefix kept."
  }
}

run "direct_invocation_is_permitted_for_the_bucket_only" {
  command = plan

  assert {
    condition     = toset(keys(aws_lambda_permission.s3)) == toset(["serverlog_to_csv"])
    error_message = "Only direct targets get a Lambda permission."
  }
  assert {
    condition = (
      aws_lambda_permission.s3["serverlog_to_csv"].principal == "s3.amazonaws.com" &&
      aws_lambda_permission.s3["serverlog_to_csv"].source_arn == "arn:aws:s3:::logferry-123456789012-eu-west-1-raw" &&
      aws_lambda_permission.s3["serverlog_to_csv"].source_account == "123456789012" &&
      aws_lambda_permission.s3["serverlog_to_csv"].function_name == "logferry-serverlog_to_csv"
    )
    error_message = "S3 may invoke the function only from this bucket in this account."
  }
}

run "queue_policy_admits_only_this_bucket" {
  command = plan

  assert {
    condition     = aws_sqs_queue_policy.this["alb_to_cloudwatch"].queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/logferry-alb_to_cloudwatch"
    error_message = "The queue policy must be attached to the trigger queue."
  }
  assert {
    condition = (
      toset(one(data.aws_iam_policy_document.queue["alb_to_cloudwatch"].statement).actions) == toset(["sqs:SendMessage"]) &&
      toset(one(data.aws_iam_policy_document.queue["alb_to_cloudwatch"].statement).resources) == toset(["arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch"])
    )
    error_message = "S3 may only SendMessage to this queue."
  }
  assert {
    condition = toset([
      for c in one(data.aws_iam_policy_document.queue["alb_to_cloudwatch"].statement).condition : "${c.test} ${c.variable} ${join(",", c.values)}"
      ]) == toset([
      "ArnEquals aws:SourceArn arn:aws:s3:::logferry-123456789012-eu-west-1-raw",
      "StringEquals aws:SourceAccount 123456789012",
    ])
    error_message = "The queue policy must be conditioned on this bucket's ARN and this account."
  }
  assert {
    condition = (
      toset(one(data.aws_iam_policy_document.consume["alb_to_cloudwatch"].statement).resources) == toset(["arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch"]) &&
      toset(one(data.aws_iam_policy_document.consume["alb_to_cloudwatch"].statement).actions) == toset(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"])
    )
    error_message = "The function's role may only consume its own queue."
  }
}

run "event_source_mapping" {
  command = plan

  assert {
    condition = (
      aws_lambda_event_source_mapping.this["alb_to_cloudwatch"].event_source_arn == "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch" &&
      aws_lambda_event_source_mapping.this["alb_to_cloudwatch"].function_name == "arn:aws:lambda:eu-west-1:123456789012:function:logferry-alb_to_cloudwatch"
    )
    error_message = "The mapping must feed the function from its queue."
  }
  assert {
    condition     = tolist(aws_lambda_event_source_mapping.this["alb_to_cloudwatch"].function_response_types) == tolist(["ReportBatchItemFailures"])
    error_message = "The mapping must report batch item failures."
  }
  assert {
    condition     = one(aws_lambda_event_source_mapping.this["alb_to_cloudwatch"].scaling_config).maximum_concurrency == 5 && aws_lambda_event_source_mapping.this["alb_to_cloudwatch"].batch_size == 10
    error_message = "maximum_concurrency and the default batch size (10) must reach the mapping."
  }
}

run "kms_queues" {
  command = plan

  variables {
    kms_key_arn   = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    create_alarms = false
  }

  assert {
    condition     = aws_sqs_queue.this["alb_to_cloudwatch"].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" && aws_sqs_queue.dlq["alb_to_cloudwatch"].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "kms_key_arn must encrypt both queues."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.consume["alb_to_cloudwatch"].statement : s.resources if s.sid == "DecryptQueue"])) == toset(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
    error_message = "The consumer must be able to decrypt with the queue key, and only that key."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.dlq) == 0
    error_message = "create_alarms = false must create no DLQ alarm."
  }
}

run "rejects_sqs_targets_without_a_role" {
  command = plan

  variables {
    targets = {
      alb = {
        function_name = "logferry-alb_to_cloudwatch"
        function_arn  = "arn:aws:lambda:eu-west-1:123456789012:function:logferry-alb_to_cloudwatch"
        via_sqs       = true
      }
    }
  }

  expect_failures = [var.targets]
}

run "rejects_a_concurrency_of_one" {
  command = plan

  variables {
    targets = {
      alb = {
        function_name       = "logferry-alb_to_cloudwatch"
        function_arn        = "arn:aws:lambda:eu-west-1:123456789012:function:logferry-alb_to_cloudwatch"
        role_name           = "logferry-alb_to_cloudwatch-role"
        via_sqs             = true
        maximum_concurrency = 1
      }
    }
  }

  expect_failures = [var.targets]
}

run "rejects_an_object_arn_as_bucket_arn" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::logferry-raw/alb/*"
  }

  expect_failures = [var.bucket_arn]
}

run "rejects_a_bad_queue_name_prefix" {
  command = plan

  variables {
    queue_name_prefix = "logferry prod"
  }

  expect_failures = [var.queue_name_prefix]
}

run "dlq_retention_is_configurable" {
  command = plan

  variables {
    dlq_retention_seconds = 172800
  }

  assert {
    condition     = alltrue([for q in aws_sqs_queue.dlq : q.message_retention_seconds == 172800]) && length(aws_sqs_queue.dlq) > 0
    error_message = "dlq_retention_seconds must set every dead-letter queue's retention."
  }
  assert {
    condition     = alltrue([for q in aws_sqs_queue.this : q.message_retention_seconds == 345600])
    error_message = "The trigger queues keep their 4 days."
  }
}

run "rejects_a_dlq_retention_beyond_14_days" {
  command = plan

  variables {
    dlq_retention_seconds = 1209601
  }

  expect_failures = [var.dlq_retention_seconds]
}
