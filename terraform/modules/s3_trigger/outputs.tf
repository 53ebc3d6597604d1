output "queue_arns" {
  description = "ARNs of the trigger queues, keyed by target (via_sqs targets only)."
  value       = { for k, q in aws_sqs_queue.this : k => q.arn }
}

output "queue_urls" {
  description = "URLs of the trigger queues, keyed by target (via_sqs targets only)."
  value       = { for k, q in aws_sqs_queue.this : k => q.url }
}

output "dead_letter_queue_arns" {
  description = "ARNs of the dead-letter queues, keyed by target (via_sqs targets only)."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.arn }
}

output "event_source_mapping_uuids" {
  description = "UUIDs of the SQS event source mappings, keyed by target."
  value       = { for k, m in aws_lambda_event_source_mapping.this : k => m.uuid }
}

output "alarm_names" {
  description = "Names of the dead-letter queue alarms, keyed by target (via_sqs targets, with create_alarms)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.dlq : k => a.alarm_name }
}

output "dead_letter_queue_urls" {
  description = "URL of each via_sqs target's dead-letter queue, keyed by target (for `logferry redrive --dlq`)."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.url }
}

output "dlq_retention_seconds" {
  description = "How long the dead-letter queues keep an S3 event (their message_retention_seconds)."
  value       = var.dlq_retention_seconds
}
