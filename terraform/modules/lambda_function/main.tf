data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  in_vpc         = length(var.vpc_subnet_ids) > 0
  # Built from the name: the role's policy cannot reference the function it is created before.
  own_arn = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:function:${var.function_name}"

  # One entry per permission the caller asked for; empty lists produce no statement.
  statements = [
    for s in [
      { sid = "ReadObjects", actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = var.s3_read_arns },
      { sid = "WriteObjects", actions = ["s3:PutObject"], resources = var.s3_write_arns },
      {
        sid       = "WriteLogGroups"
        actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        resources = flatten([for a in var.log_group_arns : [a, "${a}:*"]])
      },
      {
        sid       = "QueryLogGroups"
        actions   = ["logs:StartQuery"]
        resources = flatten([for a in var.logs_query_group_arns : [a, "${a}:*"]])
      },
      { sid = "ReadSecrets", actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources = var.secret_arns },
      { sid = "ReadParameters", actions = ["ssm:GetParameter", "ssm:GetParameters"], resources = var.ssm_read_parameter_arns },
      { sid = "WriteParameters", actions = ["ssm:GetParameter", "ssm:PutParameter"], resources = var.ssm_write_parameter_arns },
      {
        sid       = "CallSearchDomains"
        actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
        resources = flatten([for a in var.search_domain_arns : [a, "${a}/*"]])
      },
      {
        sid       = "UseTables"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        resources = var.dynamodb_table_arns
      },
      { sid = "UseKmsKeys", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = var.kms_key_arns },
      { sid = "SendFailures", actions = ["sqs:SendMessage"], resources = aws_sqs_queue.failures[*].arn },
      { sid = "InvokeSelf", actions = ["lambda:InvokeFunction"], resources = var.allow_self_invoke ? [local.own_arn] : [] },
    ] : s if length(s.resources) > 0
  ]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.function_name}-role"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid     = "XRayTraces"
      actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      # wildcard: X-Ray trace APIs support no resource-level permissions (no ARN exists).
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.logs_query_group_arns) > 0 ? [1] : []
    content {
      sid     = "ReadQueryResults"
      actions = ["logs:GetQueryResults", "logs:StopQuery"]
      # wildcard: GetQueryResults/StopQuery take a query id and support no resource-level permissions.
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_iam_role_policy_attachment" "vpc" {
  count = local.in_vpc ? 1 : 0

  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158: KMS encryption is optional (var.kms_key_arn); CloudWatch Logs encrypts at rest by default
  #checkov:skip=CKV_AWS_338: retention is configurable (var.log_retention_days); a year of function logs is a cost decision
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sqs_queue" "failures" {
  count = var.create_failure_queue ? 1 : 0

  name                      = "${var.function_name}-failures"
  message_retention_seconds = var.failure_queue_retention_seconds
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50: tracing_mode defaults to Active; callers may pass PassThrough (the local stack has no X-Ray)
  #checkov:skip=CKV_AWS_116: asynchronous failures go to an on-failure destination (aws_lambda_function_event_invoke_config), which keeps the request payload and error
  #checkov:skip=CKV_AWS_117: a VPC is optional (var.vpc_subnet_ids); the functions reach public AWS endpoints
  #checkov:skip=CKV_AWS_173: environment variables hold configuration only (secrets come from Secrets Manager); var.kms_key_arn adds a CMK
  #checkov:skip=CKV_AWS_272: code signing is not used; zips are built and deployed by the same pipeline
  function_name                  = var.function_name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [var.environment_variables] : []
    content {
      variables = environment.value
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.vpc,
  ]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_seconds

  dynamic "destination_config" {
    for_each = var.create_failure_queue ? [1] : []
    content {
      on_failure {
        destination = aws_sqs_queue.failures[0].arn
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "Lambda ${var.function_name} reported errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.error_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([var.alarm_sns_topic_arn])
  ok_actions          = compact([var.alarm_sns_topic_arn])
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.function_name}-throttles"
  alarm_description   = "Lambda ${var.function_name} was throttled (reserved concurrency reached)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([var.alarm_sns_topic_arn])
  ok_actions          = compact([var.alarm_sns_topic_arn])
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "failures" {
  count = var.create_alarms && var.create_failure_queue ? 1 : 0

  alarm_name          = "${var.function_name}-failures-queued"
  alarm_description   = "Asynchronous invocations of ${var.function_name} failed after their retries and wait in ${aws_sqs_queue.failures[0].name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures[0].name }
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
