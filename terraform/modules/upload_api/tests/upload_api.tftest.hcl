# Offline tests of the upload_api module: mock AWS provider, known account/region/partition.
# Run: scripts/tofu -chdir=terraform/modules/upload_api init -backend=false && scripts/tofu -chdir=terraform/modules/upload_api test

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
  target = aws_api_gateway_rest_api.this
  values = {
    id               = "a1b2c3d4e5"
    root_resource_id = "rootres123"
    execution_arn    = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
  }
}

override_resource {
  target = aws_api_gateway_stage.this
  values = { invoke_url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1" }
}

override_resource {
  target = module.function.aws_lambda_function.this
  values = {
    arn        = "arn:aws:lambda:eu-west-1:123456789012:function:logferry-upload_url"
    invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:logferry-upload_url/invocations"
  }
}

variables {
  name_prefix     = "logferry"
  package_path    = "tests/fixtures/function.zip"
  raw_bucket_name = "logferry-123456789012-eu-west-1-raw"
  raw_bucket_arn  = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  allowed_cidrs   = ["203.0.113.0/24", "198.51.100.7/32"]
  function_settings = {
    alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:logferry-alarms"
  }
}

run "names_carry_the_prefix" {
  command = plan

  assert {
    condition     = output.function_name == "logferry-upload_url"
    error_message = "The presign function must be named <name_prefix>-upload_url."
  }
  assert {
    condition     = aws_api_gateway_rest_api.this.name == "logferry-upload"
    error_message = "The REST API must be named <name_prefix>-upload."
  }
  assert {
    condition     = aws_ssm_parameter.allowlist.name == "/logferry/upload/allowlist" && output.allowlist_parameter_name == "/logferry/upload/allowlist"
    error_message = "The allowlist parameter must be /<name_prefix>/upload/allowlist."
  }
  assert {
    condition     = toset(output.alarm_names) == toset(["logferry-upload_url-errors", "logferry-upload_url-throttles"])
    error_message = "The presign function (synchronous, no failures queue) must have its errors and throttles alarms."
  }
}

run "a_second_prefix_names_everything_apart" {
  command = plan

  variables {
    name_prefix = "lf-staging"
  }

  assert {
    condition = (
      output.function_name == "lf-staging-upload_url" &&
      aws_api_gateway_rest_api.this.name == "lf-staging-upload" &&
      aws_ssm_parameter.allowlist.name == "/lf-staging/upload/allowlist"
    )
    error_message = "Every name must follow name_prefix."
  }
}

run "allowlist_and_grants" {
  command = plan

  assert {
    condition     = aws_ssm_parameter.allowlist.type == "StringList" && aws_ssm_parameter.allowlist.value == "203.0.113.0/24,198.51.100.7/32"
    error_message = "The allowlist must be a StringList of allowed_cidrs."
  }
  assert {
    condition     = local.allowlist_arn == "arn:aws:ssm:eu-west-1:123456789012:parameter/logferry/upload/allowlist"
    error_message = "The function's SSM read grant must be the allowlist parameter's ARN."
  }
}

run "api_invokes_the_function_through_get_only" {
  command = plan

  assert {
    condition     = aws_api_gateway_method.get.http_method == "GET" && aws_api_gateway_method.get.resource_id == "rootres123"
    error_message = "The API must expose GET on its root resource."
  }
  assert {
    condition = (
      aws_api_gateway_integration.get.type == "AWS_PROXY" &&
      aws_api_gateway_integration.get.integration_http_method == "POST" &&
      aws_api_gateway_integration.get.uri == "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:logferry-upload_url/invocations"
    )
    error_message = "GET must be a Lambda proxy integration of the presign function."
  }
  assert {
    condition = (
      aws_lambda_permission.api.principal == "apigateway.amazonaws.com" &&
      aws_lambda_permission.api.function_name == "logferry-upload_url" &&
      aws_lambda_permission.api.source_arn == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/GET/"
    )
    error_message = "Only GET / of this API may invoke the function."
  }
  assert {
    condition     = output.api_url == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1"
    error_message = "api_url must be the stage's invoke URL."
  }
}

run "resource_policy_denies_other_sources" {
  command = plan

  assert {
    condition = length([
      for s in data.aws_iam_policy_document.api.statement : s
      if s.sid == "DenyOtherSources" && s.effect == "Deny" &&
      anytrue([for c in s.condition : c.test == "NotIpAddress" && c.variable == "aws:SourceIp" && toset(c.values) == toset(["203.0.113.0/24", "198.51.100.7/32"])])
    ]) == 1
    error_message = "The API's resource policy must deny requests from outside allowed_cidrs."
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.api.statement : toset(s.resources) == toset(["execute-api:/*"]) && toset(s.actions) == toset(["execute-api:Invoke"])])
    error_message = "The resource policy must only be about invoking this API."
  }
}

run "without_the_source_ip_deny" {
  command = plan

  variables {
    restrict_source_ip_in_api_policy = false
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.api.statement : s.sid] == ["AllowInvoke"]
    error_message = "restrict_source_ip_in_api_policy = false must drop the deny statement only."
  }
}

run "stage_is_throttled_and_traced" {
  command = plan

  assert {
    condition     = aws_api_gateway_stage.this.stage_name == "v1" && aws_api_gateway_stage.this.xray_tracing_enabled
    error_message = "The stage must be v1 with X-Ray tracing."
  }
  assert {
    condition = (
      one(aws_api_gateway_method_settings.this.settings).throttling_rate_limit == 10 &&
      one(aws_api_gateway_method_settings.this.settings).throttling_burst_limit == 20 &&
      aws_api_gateway_method_settings.this.method_path == "*/*"
    )
    error_message = "Every method must be throttled to 10 rps, burst 20."
  }
  assert {
    condition     = length(aws_cloudwatch_log_group.access) == 0 && length(aws_api_gateway_stage.this.access_log_settings) == 0
    error_message = "Access logging must be off by default (it needs the account's API Gateway CloudWatch role)."
  }
}

run "access_logging" {
  command = plan

  variables {
    access_log_retention_days = 14
  }

  assert {
    condition     = aws_cloudwatch_log_group.access[0].name == "/aws/apigateway/logferry-upload" && aws_cloudwatch_log_group.access[0].retention_in_days == 14
    error_message = "The access-log group must be /aws/apigateway/<name_prefix>-upload."
  }
  assert {
    condition     = length(aws_api_gateway_stage.this.access_log_settings) == 1
    error_message = "The stage must write access logs to the group."
  }
}

run "rejects_an_empty_allowlist" {
  command = plan

  variables {
    allowed_cidrs = []
  }

  expect_failures = [var.allowed_cidrs]
}

run "rejects_a_non_cidr" {
  command = plan

  variables {
    allowed_cidrs = ["203.0.113.300/24"]
  }

  expect_failures = [var.allowed_cidrs]
}

run "rejects_an_upload_prefix_without_a_slash" {
  command = plan

  variables {
    upload_prefix = "uploads"
  }

  expect_failures = [var.upload_prefix]
}

run "rejects_a_long_url_ttl" {
  command = plan

  variables {
    url_ttl_seconds = 7200
  }

  expect_failures = [var.url_ttl_seconds]
}

run "rejects_a_prefix_ending_in_a_dash" {
  command = plan

  variables {
    name_prefix = "logferry-"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_a_cidr_with_host_bits" {
  command = plan

  variables {
    allowed_cidrs = ["203.0.113.0/24", "10.1.2.7/8"]
  }

  expect_failures = [var.allowed_cidrs]
}

run "accepts_a_single_address" {
  command = plan

  variables {
    allowed_cidrs = ["10.1.2.7/32", "2001:db8::/32"]
  }

  assert {
    condition     = aws_ssm_parameter.allowlist.value == "10.1.2.7/32,2001:db8::/32"
    error_message = "A /32 and an IPv6 network without host bits must be accepted."
  }
}

run "per_server_keys" {
  command = plan

  variables {
    servers = ["web01", "db-1.example.com"]
  }

  assert {
    condition     = toset([for s in aws_secretsmanager_secret.server_key : s.name]) == toset(["logferry/upload/servers/web01", "logferry/upload/servers/db-1.example.com"])
    error_message = "Each server must get the secret <name_prefix>/upload/servers/<server>."
  }
  assert {
    condition     = local.environment.SERVER_KEY_PREFIX == "logferry/upload/servers/" && output.server_key_prefix == "logferry/upload/servers/"
    error_message = "The function must look keys up under <name_prefix>/upload/servers/."
  }
  assert {
    condition     = local.server_keys_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/upload/servers/*"
    error_message = "The function may read the server-key secrets only."
  }
}

run "no_servers_no_secrets" {
  command = plan

  assert {
    condition     = length(aws_secretsmanager_secret.server_key) == 0
    error_message = "Without servers no secret is created (keys may be stored by hand)."
  }
}

run "rejects_a_bad_server_name" {
  command = plan

  variables {
    servers = ["../etc"]
  }

  expect_failures = [var.servers]
}
