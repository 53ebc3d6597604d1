output "buckets" {
  description = "Bucket names: raw, analyzed, quarantine."
  value       = module.logferry.buckets
}

output "alb_access_logs" {
  description = "Bucket and prefix for the load balancers' access_logs block."
  value       = module.logferry.alb_access_logs
}

output "function_names" {
  description = "Deployed functions (the emulator runs build/<name>.zip)."
  value       = module.logferry.function_names
}

output "upload_api_url" {
  description = "URL for scripts/log2aws.sh."
  value       = module.logferry.upload_api_url
}

output "slack_secret_arn" {
  description = "Fill with: aws secretsmanager put-secret-value --secret-id <arn> --secret-string <webhook URL>."
  value       = module.logferry.slack_secret_arn
}

output "search_url" {
  description = "Search endpoint the functions ship to."
  value       = module.logferry.search_url
}

output "failure_queue_urls" {
  description = "Each shipper's failures queue, for `logferry redrive --failures-queue URL`."
  value       = module.logferry.failure_queue_urls
}

output "dead_letter_queue_urls" {
  description = "Each trigger queue's dead-letter queue, for `logferry redrive --dlq URL`."
  value       = module.logferry.dead_letter_queue_urls
}

output "checkpoint_table_name" {
  description = "DynamoDB table of per-object progress (CHECKPOINT_TABLE)."
  value       = module.logferry.checkpoint_table_name
}
