output "stream_arn" {
  description = "ARN of the delivery stream."
  value       = module.stream.stream_arn
}

output "stream_name" {
  description = "Name of the delivery stream (deliveryStream in agent.json)."
  value       = module.stream.stream_name
}

output "prefix" {
  description = "Key prefix of delivered objects (the access_log_to_search trigger prefix)."
  value       = module.stream.prefix
}

output "agent_policy_arn" {
  description = "ARN of the IAM policy to attach to the log servers' instance role."
  value       = aws_iam_policy.agent.arn
}

output "agent_config_json" {
  description = "Contents for /etc/aws-kinesis/agent.json on the log servers."
  value       = jsonencode(local.agent_config)
}
