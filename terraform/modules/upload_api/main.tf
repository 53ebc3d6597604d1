data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  function_name   = coalesce(var.function_name, "${var.name_prefix}-upload_url")
  allowlist_param = "/${var.name_prefix}/upload/allowlist"
  allowlist_arn   = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:parameter${local.allowlist_param}"
  # One secret per server, <prefix>/upload/servers/<server>, holding its hex key(s).
  server_key_prefix = "${var.name_prefix}/upload/servers/"
  server_keys_arn   = "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:secret:${local.server_key_prefix}*"
}

locals {
  environment = {
    RAW_BUCKET        = var.raw_bucket_name
    UPLOAD_PREFIX     = var.upload_prefix
    ALLOWLIST_PARAM   = aws_ssm_parameter.allowlist.name
    SERVER_KEY_PREFIX = local.server_key_prefix
    URL_TTL_SECONDS   = tostring(var.url_ttl_seconds)
    MAX_AGE_DAYS      = tostring(var.max_age_days)
  }
}

resource "aws_secretsmanager_secret" "server_key" {
  #checkov:skip=CKV_AWS_149: the default aws/secretsmanager key; a CMK adds nothing the function's grant does not already gate
  #checkov:skip=CKV2_AWS_57: the key is also held by the on-prem server, so rotation is a two-sided manual step (README: On-prem uploads)
  for_each = toset(var.servers)

  name                    = "${local.server_key_prefix}${each.value}"
  description             = "Upload key of on-prem server ${each.value} (hex; value set outside Terraform)."
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

resource "aws_ssm_parameter" "allowlist" {
  #checkov:skip=CKV2_AWS_34: a StringList of CIDRs is not secret and cannot be a SecureString
  name        = local.allowlist_param
  description = "CIDRs allowed to request logferry upload URLs."
  type        = "StringList"
  value       = join(",", var.allowed_cidrs)
  tags        = var.tags
}

module "function" {
  source = "../lambda_function"

  function_name                  = local.function_name
  description                    = "Presigned S3 PUT URLs for on-prem log uploads"
  package_path                   = var.package_path
  runtime                        = var.function_settings.runtime
  timeout                        = 10
  memory_size                    = 256
  log_retention_days             = var.function_settings.log_retention_days
  create_alarms                  = var.function_settings.create_alarms
  alarm_sns_topic_arn            = var.function_settings.alarm_sns_topic_arn
  tracing_mode                   = var.function_settings.tracing_mode
  reserved_concurrent_executions = var.function_settings.reserved_concurrent_executions
  create_failure_queue           = false # invoked synchronously by API Gateway
  tags                           = var.tags

  environment_variables = local.environment

  s3_write_arns           = ["${var.raw_bucket_arn}/${var.upload_prefix}*"]
  ssm_read_parameter_arns = [local.allowlist_arn]
  secret_arns             = [local.server_keys_arn]
}

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "AllowInvoke"
    actions   = ["execute-api:Invoke"]
    resources = ["execute-api:/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.restrict_source_ip_in_api_policy ? [1] : []
    content {
      sid       = "DenyOtherSources"
      effect    = "Deny"
      actions   = ["execute-api:Invoke"]
      resources = ["execute-api:/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "NotIpAddress"
        variable = "aws:SourceIp"
        values   = var.allowed_cidrs
      }
    }
  }
}

resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-upload"
  description = "Presigned upload URLs for on-prem logs (GET /?server=&date=)"
  policy      = data.aws_iam_policy_document.api.json
  tags        = var.tags

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_method" "get" {
  #checkov:skip=CKV_AWS_59: callers are on-prem cron jobs: source IP (resource policy, SSM allowlist) and a per-server HMAC signature checked by the function
  #checkov:skip=CKV2_AWS_53: the only input is two query parameters, validated by the function
  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = aws_api_gateway_rest_api.this.root_resource_id
  http_method   = "GET"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "get" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_rest_api.this.root_resource_id
  http_method             = aws_api_gateway_method.get.http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = module.function.invoke_arn
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/GET/"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_method.get.id,
      aws_api_gateway_integration.get.id,
      aws_api_gateway_rest_api.this.policy,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158: access logs hold no secrets; CloudWatch Logs encrypts at rest by default
  #checkov:skip=CKV_AWS_338: retention is configurable (var.access_log_retention_days)
  count = var.access_log_retention_days == null ? 0 : 1

  name              = "/aws/apigateway/${var.name_prefix}-upload"
  retention_in_days = var.access_log_retention_days
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_76: access logging is optional (var.access_log_retention_days) because it needs the account-wide API Gateway CloudWatch role
  #checkov:skip=CKV_AWS_120: responses are one-time presigned URLs and must not be cached
  #checkov:skip=CKV2_AWS_51: clients are cron jobs on servers without client certificates; access is by source IP
  #checkov:skip=CKV2_AWS_29: WAF is left to the user; the stage is throttled and source-IP restricted
  #checkov:skip=CKV2_AWS_4: method logging level needs the account-wide API Gateway CloudWatch role; see access_log_retention_days
  deployment_id        = aws_api_gateway_deployment.this.id
  rest_api_id          = aws_api_gateway_rest_api.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = true
  tags                 = var.tags

  dynamic "access_log_settings" {
    for_each = aws_cloudwatch_log_group.access
    content {
      destination_arn = access_log_settings.value.arn
      format = jsonencode({
        requestId = "$context.requestId"
        sourceIp  = "$context.identity.sourceIp"
        time      = "$context.requestTime"
        method    = "$context.httpMethod"
        status    = "$context.status"
        latency   = "$context.responseLatency"
      })
    }
  }
}

resource "aws_api_gateway_method_settings" "this" {
  #checkov:skip=CKV_AWS_225: caching is off on purpose: every response is a fresh presigned URL
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }
}
