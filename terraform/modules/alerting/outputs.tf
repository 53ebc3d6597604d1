output "slack_secret_arn" {
  description = "ARN of the Slack webhook secret (fill it with `aws secretsmanager put-secret-value`)."
  value       = aws_secretsmanager_secret.slack.arn
}

output "rules_parameter_name" {
  description = "Name of the SSM parameter holding the rules, or null when rules come from S3."
  value       = try(aws_ssm_parameter.rules[0].name, null)
}

output "state_parameter_prefix" {
  description = "SSM path prefix under which the function keeps its alert state."
  value       = local.state_prefix
}

output "function_name" {
  description = "Name of the alert function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the alert function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the alert function's role (add it to the search domain's allowed roles)."
  value       = module.function.role_arn
}

output "schedule_rule_name" {
  description = "Name of the EventBridge schedule rule."
  value       = aws_cloudwatch_event_rule.schedule.name
}

output "alarm_names" {
  description = "Names of the alert function's CloudWatch alarms (its errors, throttles, failures queue; failing rules)."
  value       = concat(module.function.alarm_names, aws_cloudwatch_metric_alarm.rule_errors[*].alarm_name)
}
