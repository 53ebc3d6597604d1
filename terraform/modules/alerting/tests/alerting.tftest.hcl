# Offline tests of the alerting module: mock AWS provider, known account/region/partition.
# Run: scripts/tofu -chdir=terraform/modules/alerting init -backend=false && scripts/tofu -chdir=terraform/modules/alerting test

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
  target = aws_secretsmanager_secret.slack
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/slack-webhook-AbCdEf" }
}

override_resource {
  target = aws_cloudwatch_event_rule.schedule
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/logferry-alert-schedule" }
}

override_resource {
  target = module.function.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:logferry-log_alert" }
}

override_resource {
  target = module.function.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/logferry-log_alert-role" }
}

variables {
  name_prefix  = "logferry"
  package_path = "tests/fixtures/function.zip"
  function_settings = {
    alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:logferry-alarms"
  }
}

run "names_carry_the_prefix" {
  command = plan

  assert {
    condition     = output.function_name == "logferry-log_alert"
    error_message = "The alert function must be named <name_prefix>-log_alert."
  }
  assert {
    condition     = aws_secretsmanager_secret.slack.name == "logferry/slack-webhook"
    error_message = "The Slack secret must be named <name_prefix>/slack-webhook."
  }
  assert {
    condition     = aws_ssm_parameter.rules[0].name == "/logferry/alert/rules" && output.rules_parameter_name == "/logferry/alert/rules"
    error_message = "The rules parameter must be /<name_prefix>/alert/rules."
  }
  assert {
    condition     = output.state_parameter_prefix == "/logferry/alert/state/"
    error_message = "Alert state must live under /<name_prefix>/alert/state/."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.schedule.name == "logferry-alert-schedule"
    error_message = "The schedule rule must be named <name_prefix>-alert-schedule."
  }
  assert {
    condition     = toset(output.alarm_names) == toset(["logferry-log_alert-errors", "logferry-log_alert-throttles", "logferry-log_alert-failures-queued", "logferry-log_alert-rule-errors"])
    error_message = "The function's alarms (errors, throttles, failures queue, failing rules) must carry its prefixed name."
  }
}

run "a_second_prefix_names_everything_apart" {
  command = plan

  variables {
    name_prefix = "lf-staging"
  }

  assert {
    condition = (
      output.function_name == "lf-staging-log_alert" &&
      aws_secretsmanager_secret.slack.name == "lf-staging/slack-webhook" &&
      aws_ssm_parameter.rules[0].name == "/lf-staging/alert/rules" &&
      aws_cloudwatch_event_rule.schedule.name == "lf-staging-alert-schedule"
    )
    error_message = "Every name must follow name_prefix."
  }
}

run "a_failing_rule_raises_an_alarm_to_the_topic" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.rule_errors[0].alarm_name == "logferry-log_alert-rule-errors" &&
      aws_cloudwatch_metric_alarm.rule_errors[0].namespace == "logferry" &&
      aws_cloudwatch_metric_alarm.rule_errors[0].metric_name == "RuleErrors" &&
      aws_cloudwatch_metric_alarm.rule_errors[0].dimensions["service"] == "logferry-log_alert"
    )
    error_message = "The rule-errors alarm must watch RuleErrors (namespace logferry) of the alert function's service dimension."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.rule_errors[0].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.rule_errors[0].threshold == 0 &&
      aws_cloudwatch_metric_alarm.rule_errors[0].treat_missing_data == "notBreaching"
    )
    error_message = "One failing rule in a period must raise the alarm."
  }
  assert {
    condition = (
      toset(aws_cloudwatch_metric_alarm.rule_errors[0].alarm_actions) == toset(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"]) &&
      toset(aws_cloudwatch_metric_alarm.rule_errors[0].ok_actions) == toset(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"])
    )
    error_message = "The rule-errors alarm must notify the alarm topic (alarm and OK)."
  }
}

run "no_rule_errors_alarm_without_alarms" {
  command = plan

  variables {
    function_settings = { create_alarms = false }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.rule_errors) == 0 && length(output.alarm_names) == 0
    error_message = "create_alarms = false must create no alarm, the rule-errors one included."
  }
}

run "schedule_invokes_the_function" {
  command = plan

  assert {
    condition     = aws_cloudwatch_event_rule.schedule.schedule_expression == "rate(5 minutes)"
    error_message = "The default schedule must be every 5 minutes."
  }
  assert {
    condition     = aws_cloudwatch_event_target.function.rule == "logferry-alert-schedule" && aws_cloudwatch_event_target.function.arn == "arn:aws:lambda:eu-west-1:123456789012:function:logferry-log_alert"
    error_message = "The schedule must target the alert function."
  }
  assert {
    condition = (
      aws_lambda_permission.schedule.principal == "events.amazonaws.com" &&
      aws_lambda_permission.schedule.source_arn == "arn:aws:events:eu-west-1:123456789012:rule/logferry-alert-schedule" &&
      aws_lambda_permission.schedule.function_name == "logferry-log_alert"
    )
    error_message = "Only this schedule rule may invoke the function."
  }
}

run "function_environment_and_grants" {
  command = plan

  variables {
    environment_variables = { SEARCH_URL = "https://search.example.com", INDEX_PREFIX = "logferry" }
  }

  assert {
    condition     = local.rules_env == tomap({ RULES_PARAM = "/logferry/alert/rules" })
    error_message = "Rules must be read from the SSM parameter (RULES_PARAM) by default."
  }
  assert {
    condition     = "${local.ssm_arn_prefix}${local.rules_param}" == "arn:aws:ssm:eu-west-1:123456789012:parameter/logferry/alert/rules"
    error_message = "The function's SSM read grant must be the rules parameter's ARN."
  }
  assert {
    condition     = output.role_arn == "arn:aws:iam::123456789012:role/logferry-log_alert-role"
    error_message = "role_arn must be the alert function's role."
  }
  assert {
    condition     = aws_ssm_parameter.rules[0].value == "{\"rules\": []}" && aws_ssm_parameter.rules[0].type == "String" && aws_ssm_parameter.rules[0].tier == "Standard"
    error_message = "rules_json must be stored as a Standard String parameter."
  }
}

run "webhook_secret_without_a_value" {
  command = plan

  assert {
    condition     = length(aws_secretsmanager_secret_version.slack) == 0
    error_message = "Without slack_webhook_url no secret value may be written (the user sets it with put-secret-value)."
  }
  assert {
    condition     = aws_secretsmanager_secret.slack.recovery_window_in_days == 0
    error_message = "The secret must be deleted at once by default, so destroy-then-apply can create the same name again."
  }
  assert {
    condition     = output.slack_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/slack-webhook-AbCdEf"
    error_message = "slack_secret_arn must be the secret to fill."
  }
}

run "webhook_secret_with_a_value" {
  command = plan

  variables {
    slack_webhook_url           = "https://hooks.slack.com/services/T000/B000/XXXX"
    secret_recovery_window_days = 7
  }

  assert {
    condition     = length(aws_secretsmanager_secret_version.slack) == 1 && aws_secretsmanager_secret_version.slack[0].secret_id == aws_secretsmanager_secret.slack.id
    error_message = "slack_webhook_url must be written as the secret's value."
  }
  assert {
    condition     = aws_secretsmanager_secret.slack.recovery_window_in_days == 7
    error_message = "secret_recovery_window_days must reach the secret."
  }
}

run "rules_from_s3" {
  command = plan

  variables {
    rules_s3_uri = "s3://logferry-config/alert/rules.json"
  }

  assert {
    condition     = length(aws_ssm_parameter.rules) == 0 && output.rules_parameter_name == null
    error_message = "With rules_s3_uri no rules parameter may be created."
  }
  assert {
    condition     = local.rules_env == tomap({ RULES_S3_URI = "s3://logferry-config/alert/rules.json" }) && local.rules_object == "arn:aws:s3:::logferry-config/alert/rules.json"
    error_message = "The function must read RULES_S3_URI and be granted that object only."
  }
}

run "large_rules_use_the_advanced_tier" {
  command = plan

  variables {
    rules_json = jsonencode({ rules = [for i in range(100) : { name = "rule-${i}", query = "fields @message | filter @message like /ERROR/" }] })
  }

  assert {
    condition     = aws_ssm_parameter.rules[0].tier == "Advanced"
    error_message = "Rules over 4 KB must use the Advanced tier."
  }
}

run "rejects_a_bad_schedule" {
  command = plan

  variables {
    schedule_expression = "every 5 minutes"
  }

  expect_failures = [var.schedule_expression]
}

run "rejects_rules_that_are_not_json" {
  command = plan

  variables {
    rules_json = "{rules: ["
  }

  expect_failures = [var.rules_json]
}

run "rejects_a_recovery_window_of_three_days" {
  command = plan

  variables {
    secret_recovery_window_days = 3
  }

  expect_failures = [var.secret_recovery_window_days]
}

run "rejects_a_plain_http_webhook" {
  command = plan

  variables {
    slack_webhook_url = "http://hooks.slack.com/services/T000/B000/XXXX"
  }

  expect_failures = [var.slack_webhook_url]
}

run "rejects_a_bad_name_prefix" {
  command = plan

  variables {
    name_prefix = "Logferry_"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_a_bad_rules_uri" {
  command = plan

  variables {
    rules_s3_uri = "https://logferry-config/rules.json"
  }

  expect_failures = [var.rules_s3_uri]
}
