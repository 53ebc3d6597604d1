# Offline tests of the lambda_function module: mock AWS provider, known account/region/partition.
# Run: scripts/tofu -chdir=terraform/modules/lambda_function init -backend=false && scripts/tofu -chdir=terraform/modules/lambda_function test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

override_resource {
  target = aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/logferry-alb_to_cloudwatch" }
}

override_resource {
  target = aws_sqs_queue.failures
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch-failures"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/logferry-alb_to_cloudwatch-failures"
  }
}

variables {
  function_name       = "logferry-alb_to_cloudwatch"
  package_path        = "tests/fixtures/function.zip"
  alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:logferry-alarms"
  environment_variables = {
    LOG_GROUP = "/logferry/alb"
    SINKS     = "cloudwatch"
  }
}

run "names_carry_the_function_name" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.function_name == "logferry-alb_to_cloudwatch"
    error_message = "function_name must be passed through unchanged (the caller gives <name_prefix>-<key>)."
  }
  assert {
    condition     = aws_iam_role.this.name == "logferry-alb_to_cloudwatch-role"
    error_message = "The role must be named <function_name>-role."
  }
  assert {
    condition     = aws_iam_role_policy.this.name == "logferry-alb_to_cloudwatch-policy"
    error_message = "The inline policy must be named <function_name>-policy."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/logferry-alb_to_cloudwatch"
    error_message = "The log group must be /aws/lambda/<function_name>, the group Lambda writes to."
  }
  assert {
    condition     = aws_sqs_queue.failures[0].name == "logferry-alb_to_cloudwatch-failures"
    error_message = "The on-failure queue must be named <function_name>-failures."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.errors[0].alarm_name == "logferry-alb_to_cloudwatch-errors"
    error_message = "The Errors alarm must be named <function_name>-errors."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.throttles[0].alarm_name == "logferry-alb_to_cloudwatch-throttles"
    error_message = "The Throttles alarm must be named <function_name>-throttles."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.failures[0].alarm_name == "logferry-alb_to_cloudwatch-failures-queued"
    error_message = "The failures-queue alarm must be named <function_name>-failures-queued."
  }
}

run "function_settings" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.handler == "handler.handler"
    error_message = "The default handler must be handler.handler."
  }
  assert {
    condition     = aws_lambda_function.this.runtime == "python3.12"
    error_message = "The default runtime must be python3.12 (the zips' compiled wheels)."
  }
  assert {
    condition     = tolist(aws_lambda_function.this.architectures) == tolist(["x86_64"])
    error_message = "The function must run on x86_64 only."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "Concurrency must be unreserved (-1) by default: new accounts have no room to reserve."
  }
  assert {
    condition     = aws_lambda_function.this.timeout == 120 && aws_lambda_function.this.memory_size == 512
    error_message = "Default timeout/memory must be 120 s and 512 MB."
  }
  assert {
    condition     = one(aws_lambda_function.this.environment).variables == tomap({ LOG_GROUP = "/logferry/alb", SINKS = "cloudwatch" })
    error_message = "environment_variables must reach the function unchanged."
  }
  assert {
    condition     = one(aws_lambda_function.this.tracing_config).mode == "Active"
    error_message = "X-Ray tracing must default to Active."
  }
  assert {
    condition     = aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/function.zip")
    error_message = "source_code_hash must be the hash of package_path (so a new zip redeploys)."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "The function's log group must keep 30 days by default."
  }
  assert {
    condition     = length(aws_iam_role_policy_attachment.vpc) == 0
    error_message = "No VPC policy attachment outside a VPC."
  }
}

run "failures_go_to_the_queue_and_every_alarm_notifies" {
  command = plan

  assert {
    condition     = one(one(aws_lambda_function_event_invoke_config.this.destination_config).on_failure).destination == "arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch-failures"
    error_message = "Failed asynchronous invocations must go to the <function_name>-failures queue."
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2
    error_message = "Asynchronous invocations must retry twice by default."
  }
  assert {
    condition     = aws_sqs_queue.failures[0].sqs_managed_sse_enabled == true
    error_message = "The failures queue must be encrypted (SSE-SQS without a KMS key)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.failures[0].dimensions["QueueName"] == "logferry-alb_to_cloudwatch-failures"
    error_message = "The failures-queue alarm must watch the function's failures queue."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.errors[0].dimensions["FunctionName"] == "logferry-alb_to_cloudwatch"
    error_message = "The Errors alarm must watch the function."
  }
  assert {
    condition = alltrue([
      for a in concat(aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.throttles, aws_cloudwatch_metric_alarm.failures) :
      tolist(a.alarm_actions) == tolist(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"])
    ])
    error_message = "Every alarm (errors, throttles, failures queue) must notify alarm_sns_topic_arn."
  }
  assert {
    condition     = length(output.alarm_names) == 3
    error_message = "alarm_names must list the three alarms."
  }
}

run "iam_is_scoped_to_known_arns" {
  command = plan

  variables {
    s3_read_arns             = ["arn:aws:s3:::raw-bucket/alb/*"]
    s3_write_arns            = ["arn:aws:s3:::quarantine-bucket/quarantine*"]
    log_group_arns           = ["arn:aws:logs:eu-west-1:123456789012:log-group:/logferry/alb"]
    logs_query_group_arns    = ["arn:aws:logs:eu-west-1:123456789012:log-group:/logferry/alb"]
    secret_arns              = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/search-AbCdEf"]
    ssm_read_parameter_arns  = ["arn:aws:ssm:eu-west-1:123456789012:parameter/logferry/alert/rules"]
    ssm_write_parameter_arns = ["arn:aws:ssm:eu-west-1:123456789012:parameter/logferry/alert/state/*"]
    search_domain_arns       = ["arn:aws:es:eu-west-1:123456789012:domain/logferry-logs"]
    dynamodb_table_arns      = ["arn:aws:dynamodb:eu-west-1:123456789012:table/logferry-checkpoints"]
    allow_self_invoke        = true
  }

  assert {
    condition = toset([for s in data.aws_iam_policy_document.this.statement : s.sid]) == toset([
      "OwnLogGroup", "XRayTraces", "ReadQueryResults", "ReadObjects", "WriteObjects", "WriteLogGroups",
      "QueryLogGroups", "ReadSecrets", "ReadParameters", "WriteParameters", "CallSearchDomains",
      "UseTables", "SendFailures", "InvokeSelf",
    ])
    error_message = "The policy must hold exactly one statement per granted permission (no UseKmsKeys without kms_key_arns)."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      contains(["XRayTraces", "ReadQueryResults"], s.sid) || !contains(s.resources, "*")
    ])
    error_message = "Only the X-Ray and GetQueryResults statements may use Resource \"*\"."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      !contains(["XRayTraces", "ReadQueryResults"], s.sid) || (
        tolist(s.resources) == tolist(["*"]) &&
        length(setsubtract(s.actions, ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "logs:GetQueryResults", "logs:StopQuery"])) == 0
      )
    ])
    error_message = "The wildcard statements may only grant X-Ray trace writes and GetQueryResults/StopQuery."
  }
  assert {
    condition = toset(one([
      for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "OwnLogGroup"
    ])) == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/logferry-alb_to_cloudwatch:*"])
    error_message = "OwnLogGroup must be scoped to the function's own log group streams."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "ReadObjects"])) == toset(["arn:aws:s3:::raw-bucket/alb/*"])
    error_message = "ReadObjects must be scoped to s3_read_arns."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "WriteObjects"])) == toset(["arn:aws:s3:::quarantine-bucket/quarantine*"])
    error_message = "WriteObjects must be scoped to s3_write_arns."
  }
  assert {
    condition = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "WriteLogGroups"])) == toset([
      "arn:aws:logs:eu-west-1:123456789012:log-group:/logferry/alb",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/logferry/alb:*",
    ])
    error_message = "WriteLogGroups must be scoped to the given groups and their streams."
  }
  assert {
    condition = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "CallSearchDomains"])) == toset([
      "arn:aws:es:eu-west-1:123456789012:domain/logferry-logs",
      "arn:aws:es:eu-west-1:123456789012:domain/logferry-logs/*",
    ])
    error_message = "CallSearchDomains must be scoped to the given domains and their paths."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "CallSearchDomains"])) == toset(["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"])
    error_message = "The shippers must not get es:ESHttpDelete."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "SendFailures"])) == toset(["arn:aws:sqs:eu-west-1:123456789012:logferry-alb_to_cloudwatch-failures"])
    error_message = "SendFailures must be scoped to the function's own failures queue."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "InvokeSelf"])) == toset(["arn:aws:lambda:eu-west-1:123456789012:function:logferry-alb_to_cloudwatch"])
    error_message = "InvokeSelf must be scoped to the function's own ARN (built from partition, region, account and name)."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "WriteParameters"])) == toset(["arn:aws:ssm:eu-west-1:123456789012:parameter/logferry/alert/state/*"])
    error_message = "WriteParameters must be scoped to ssm_write_parameter_arns."
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.this.statement :
      s.sid == "UseTables" &&
      toset(s.resources) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/logferry-checkpoints"]) &&
      toset(s.actions) == toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"])
    ])
    error_message = "UseTables must grant item reads and writes (no scans or queries) on dynamodb_table_arns only."
  }
}

run "failure_queue_retention" {
  command = plan

  variables {
    failure_queue_retention_seconds = 3600
  }

  assert {
    condition     = aws_sqs_queue.failures[0].message_retention_seconds == 3600 && output.failure_queue_retention_seconds == 3600
    error_message = "failure_queue_retention_seconds must set the failures queue's retention."
  }
}

run "rejects_a_failure_retention_beyond_14_days" {
  command = plan

  variables {
    failure_queue_retention_seconds = 1209601
  }

  expect_failures = [var.failure_queue_retention_seconds]
}

run "minimal_policy_without_tracing_or_grants" {
  command = plan

  variables {
    tracing_mode         = "PassThrough"
    create_failure_queue = false
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["OwnLogGroup"]
    error_message = "Without grants, tracing or a failures queue the policy must only let the function write its own logs."
  }
  assert {
    condition     = length(aws_sqs_queue.failures) == 0 && length(aws_cloudwatch_metric_alarm.failures) == 0
    error_message = "create_failure_queue = false must create neither the queue nor its alarm."
  }
  assert {
    condition     = length(aws_lambda_function_event_invoke_config.this.destination_config) == 0
    error_message = "Without a failures queue there must be no on-failure destination."
  }
  assert {
    condition     = output.failure_queue_arn == null
    error_message = "failure_queue_arn must be null without a queue."
  }
}

run "no_alarms" {
  command = plan

  variables {
    create_alarms = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.errors) + length(aws_cloudwatch_metric_alarm.throttles) + length(aws_cloudwatch_metric_alarm.failures) == 0
    error_message = "create_alarms = false must create no alarm."
  }
}

run "vpc_function" {
  command = plan

  variables {
    vpc_subnet_ids         = ["subnet-0123456789abcdef0"]
    vpc_security_group_ids = ["sg-0123456789abcdef0"]
  }

  assert {
    condition     = toset(one(aws_lambda_function.this.vpc_config).subnet_ids) == toset(["subnet-0123456789abcdef0"])
    error_message = "vpc_subnet_ids must reach the function's vpc_config."
  }
  assert {
    condition     = aws_iam_role_policy_attachment.vpc[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    error_message = "A VPC function's role needs AWSLambdaVPCAccessExecutionRole."
  }
}

run "rejects_python3_13" {
  command = plan

  variables {
    runtime = "python3.13"
  }

  expect_failures = [var.runtime]
}

run "rejects_arm64" {
  command = plan

  variables {
    architecture = "arm64"
  }

  expect_failures = [var.architecture]
}

run "rejects_a_long_function_name" {
  command = plan

  variables {
    function_name = "logferry-a_function_name_far_too_long_for_its_role_suffix_x"
  }

  expect_failures = [var.function_name]
}

run "rejects_a_package_that_is_not_a_zip" {
  command = plan

  variables {
    package_path = "tests/fixtures/function.tar.gz"
  }

  expect_failures = [var.package_path]
}

run "rejects_bucket_arns_for_object_grants" {
  command = plan

  variables {
    s3_read_arns = ["arn:aws:s3:::raw-bucket"]
  }

  expect_failures = [var.s3_read_arns]
}

run "rejects_log_group_arns_with_a_star" {
  command = plan

  variables {
    log_group_arns = ["arn:aws:logs:eu-west-1:123456789012:log-group:/logferry/alb:*"]
  }

  expect_failures = [var.log_group_arns]
}

run "rejects_a_bad_retention" {
  command = plan

  variables {
    log_retention_days = 45
  }

  expect_failures = [var.log_retention_days]
}
