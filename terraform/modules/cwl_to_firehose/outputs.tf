output "stream_arn" {
  description = "ARN of the delivery stream."
  value       = module.stream.stream_arn
}

output "stream_name" {
  description = "Name of the delivery stream."
  value       = module.stream.stream_name
}

output "prefix" {
  description = "Key prefix of delivered objects (the cwl_to_search trigger prefix)."
  value       = module.stream.prefix
}

output "subscription_role_arn" {
  description = "ARN of the role CloudWatch Logs assumes to put records into the stream."
  value       = aws_iam_role.subscription.arn
}
