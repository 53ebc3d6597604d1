output "bucket_id" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "elb_log_prefix" {
  description = "Prefix to set in the load balancer's access_logs block (empty when logs go to the bucket root)."
  value       = var.elb_log_prefix
}

output "elb_log_key_prefix" {
  description = "Key prefix under which ALB/ELB log objects appear (`<prefix>/AWSLogs/`), for trigger filters."
  value       = "${var.elb_log_prefix == "" ? "" : "${var.elb_log_prefix}/"}AWSLogs/"
}

output "versioning" {
  description = "Whether object versioning is on (an overwrite keeps the previous version)."
  value       = length(aws_s3_bucket_versioning.this) == 1
}

output "expiration_days" {
  description = "Days after which objects expire (the lifecycle rule's expiration), or null when they are kept."
  value       = var.expiration_days
}
