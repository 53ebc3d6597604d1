output "stream_name" {
  description = "Name of the delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "stream_arn" {
  description = "ARN of the delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "role_arn" {
  description = "ARN of the role Firehose assumes to write to S3."
  value       = aws_iam_role.this.arn
}

output "prefix" {
  description = "Key prefix of delivered objects (use it as the trigger's filter_prefix)."
  value       = var.prefix
}
