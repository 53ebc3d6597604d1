output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN of the function (for API Gateway integrations)."
  value       = aws_lambda_function.this.invoke_arn
}

output "timeout" {
  description = "Timeout of the function in seconds (to size SQS visibility timeouts)."
  value       = aws_lambda_function.this.timeout
}

output "role_name" {
  description = "Name of the function's execution role (to attach trigger-specific policies)."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's execution role (e.g. for a search domain access policy)."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's own log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "failure_queue_arn" {
  description = "ARN of the on-failure SQS queue, or null."
  value       = try(aws_sqs_queue.failures[0].arn, null)
}

output "failure_queue_url" {
  description = "URL of the on-failure SQS queue, or null."
  value       = try(aws_sqs_queue.failures[0].url, null)
}

output "alarm_names" {
  description = "Names of the function's CloudWatch alarms (errors, throttles, failures queue), empty without create_alarms."
  value = concat(
    aws_cloudwatch_metric_alarm.errors[*].alarm_name,
    aws_cloudwatch_metric_alarm.throttles[*].alarm_name,
    aws_cloudwatch_metric_alarm.failures[*].alarm_name,
  )
}

output "failure_queue_retention_seconds" {
  description = "How long the failures queue keeps a record (its message_retention_seconds), or null without one."
  value       = try(aws_sqs_queue.failures[0].message_retention_seconds, null)
}
