data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  function_name  = coalesce(var.function_name, "${var.name_prefix}-log_alert")
  ssm_arn_prefix = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:parameter"
  rules_param    = "/${var.name_prefix}/alert/rules"
  state_prefix   = "/${var.name_prefix}/alert/state/"
  use_s3_rules   = var.rules_s3_uri != null
  rules_object   = local.use_s3_rules ? "arn:${data.aws_partition.current.partition}:s3:::${trimprefix(var.rules_s3_uri, "s3://")}" : null

  rules_env = local.use_s3_rules ? tomap({ RULES_S3_URI = var.rules_s3_uri }) : tomap({ RULES_PARAM = local.rules_param })
}

# The webhook URL is not in code: the user stores it with
#   aws secretsmanager put-secret-value --secret-id <slack_secret_arn> --secret-string 'https://hooks.slack.com/services/...'
# or passes the sensitive var.slack_webhook_url (then it is in the state as well). Until the
# secret has a value the function evaluates the rules, posts nothing and logs one warning a run.
resource "aws_secretsmanager_secret" "slack" {
  #checkov:skip=CKV2_AWS_57: a Slack webhook URL cannot be rotated by a Lambda; replace it with put-secret-value
  #checkov:skip=CKV_AWS_149: the AWS-managed key is the default; set var.secret_kms_key_arn for a CMK
  name                    = "${var.name_prefix}/slack-webhook"
  description             = "Slack incoming-webhook URL for logferry alerts (value set outside Terraform)."
  kms_key_id              = var.secret_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

resource "aws_ssm_parameter" "rules" {
  #checkov:skip=CKV2_AWS_34: alert rules are configuration, not secrets; Advanced tier String allows 8 KB
  count = local.use_s3_rules ? 0 : 1

  name        = local.rules_param
  description = "logferry alert rules (JSON)."
  type        = "String"
  tier        = length(var.rules_json) > 4096 ? "Advanced" : "Standard"
  value       = var.rules_json
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "slack" {
  # Whether a URL was given is not secret; the URL itself stays sensitive.
  count = nonsensitive(var.slack_webhook_url != null) ? 1 : 0

  secret_id     = aws_secretsmanager_secret.slack.id
  secret_string = var.slack_webhook_url
}

module "function" {
  source = "../lambda_function"

  function_name                  = local.function_name
  description                    = "Scheduled log queries and Slack alerts"
  package_path                   = var.package_path
  runtime                        = var.function_settings.runtime
  timeout                        = 120
  memory_size                    = 256
  log_retention_days             = var.function_settings.log_retention_days
  create_alarms                  = var.function_settings.create_alarms
  alarm_sns_topic_arn            = var.function_settings.alarm_sns_topic_arn
  tracing_mode                   = var.function_settings.tracing_mode
  reserved_concurrent_executions = var.function_settings.reserved_concurrent_executions
  maximum_retry_attempts         = 0 # the next scheduled run covers the window again
  maximum_event_age_seconds      = 300
  tags                           = var.tags

  environment_variables = merge(var.environment_variables, local.rules_env, {
    SLACK_SECRET_ARN   = aws_secretsmanager_secret.slack.arn
    STATE_PARAM_PREFIX = local.state_prefix
  })

  secret_arns              = concat([aws_secretsmanager_secret.slack.arn], var.secret_arns)
  kms_key_arns             = compact([var.secret_kms_key_arn])
  ssm_read_parameter_arns  = local.use_s3_rules ? [] : ["${local.ssm_arn_prefix}${local.rules_param}"]
  ssm_write_parameter_arns = ["${local.ssm_arn_prefix}${local.state_prefix}*"]
  s3_read_arns             = compact([local.rules_object])
  logs_query_group_arns    = var.query_log_group_arns
  search_domain_arns       = var.search_domain_arns
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.name_prefix}-alert-schedule"
  description         = "Runs ${local.function_name} on a schedule."
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "function" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = module.function.function_arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

# A rule whose query fails (a wrong index, a missing permission) is logged at ERROR, posted
# to Slack ("rule X failing since ...", rate limited) and counted: every run emits RuleErrors
# (EMF, namespace logferry) with the service dimension alone, the number of failing rules.
# The same metric per rule carries the rule dimension as well.
resource "aws_cloudwatch_metric_alarm" "rule_errors" {
  count = var.function_settings.create_alarms ? 1 : 0

  alarm_name          = "${local.function_name}-rule-errors"
  alarm_description   = "An alert rule of ${local.function_name} failed to run (see RuleErrors by rule and the function's ERROR lines)."
  namespace           = "logferry"
  metric_name         = "RuleErrors"
  dimensions          = { service = module.function.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([var.function_settings.alarm_sns_topic_arn])
  ok_actions          = compact([var.function_settings.alarm_sns_topic_arn])
  tags                = var.tags
}
