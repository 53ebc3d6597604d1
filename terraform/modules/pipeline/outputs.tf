output "buckets" {
  description = "Bucket names: raw, analyzed, quarantine."
  value = {
    raw        = module.raw.bucket_id
    analyzed   = module.analyzed.bucket_id
    quarantine = module.quarantine.bucket_id
  }
}

output "alb_access_logs" {
  description = "Bucket and prefix to set in the load balancers' access_logs block, or null."
  value       = var.enable_alb ? { bucket = module.raw.bucket_id, prefix = var.alb_log_prefix } : null
}

output "alb_log_group_name" {
  description = "CloudWatch Logs group receiving ALB lines, or null."
  value       = try(aws_cloudwatch_log_group.alb[0].name, null)
}

output "function_names" {
  description = "Names of the deployed functions, keyed by function."
  value = merge(
    { for k, m in module.shipper : k => m.function_name },
    { for m in module.upload : "upload_url" => m.function_name },
    { for m in module.alerting : "log_alert" => m.function_name },
  )
}

output "trigger_queue_urls" {
  description = "SQS queues feeding the shipping functions (when trigger_via_sqs)."
  value       = try(module.raw_triggers[0].queue_urls, {})
}

output "search_url" {
  description = "Search endpoint the functions ship to (SEARCH_URL)."
  value       = local.search_url
}

output "upload_api_url" {
  description = "URL of the upload API (scripts/log2aws.sh LOGFERRY_API_URL), or null."
  value       = try(module.upload[0].api_url, null)
}

output "slack_secret_arn" {
  description = "Secret <name_prefix>/slack-webhook to fill with the Slack webhook URL (aws secretsmanager put-secret-value, unless slack_webhook_url was given), or null."
  value       = try(module.alerting[0].slack_secret_arn, null)
}

output "cwl_firehose_stream_name" {
  description = "Firehose stream the CloudWatch Logs subscriptions feed, or null."
  value       = try(module.cwl_firehose[0].stream_name, null)
}

output "agent_config_json" {
  description = "Kinesis Agent configuration (/etc/aws-kinesis/agent.json), or null."
  value       = try(module.agent_firehose[0].agent_config_json, null)
}

output "agent_policy_arn" {
  description = "IAM policy for the log servers running the Kinesis Agent, or null."
  value       = try(module.agent_firehose[0].agent_policy_arn, null)
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies (the created <name_prefix>-alarms, or alarm_sns_topic_arn)."
  value       = local.alarm_topic_arn
}

output "checkpoint_table_name" {
  description = "DynamoDB table of per-object progress (every shipper's CHECKPOINT_TABLE)."
  value       = aws_dynamodb_table.checkpoints.name
}

output "failure_queue_urls" {
  description = "Each shipper's failures queue (asynchronous on-failure destination), for `logferry redrive --failures-queue`."
  value       = { for k, m in module.shipper : k => m.failure_queue_url if m.failure_queue_url != null }
}

output "dead_letter_queue_urls" {
  description = "Each trigger queue's dead-letter queue (when trigger_via_sqs), for `logferry redrive --dlq`."
  value       = try(module.raw_triggers[0].dead_letter_queue_urls, {})
}

output "alarm_names" {
  description = "Names of every CloudWatch alarm of the pipeline (functions' errors, throttles and failure queues; trigger dead-letter queues; shippers' parked, failed and object-error counts; quarantine objects)."
  value = sort(concat(
    [for a in aws_cloudwatch_metric_alarm.dead_end : a.alarm_name],
    aws_cloudwatch_metric_alarm.quarantine_objects[*].alarm_name,
    flatten([for m in module.shipper : m.alarm_names]),
    flatten([for m in module.upload : m.alarm_names]),
    flatten([for m in module.alerting : m.alarm_names]),
    flatten([for m in module.raw_triggers : values(m.alarm_names)]),
  ))
}
