output "api_url" {
  description = "Invoke URL of the upload API (GET <url>/?server=<name>&date=<YYYY-MM-DD>)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "allowlist_parameter_name" {
  description = "Name of the SSM StringList parameter holding the allowed CIDRs."
  value       = aws_ssm_parameter.allowlist.name
}

output "function_name" {
  description = "Name of the presign function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the presign function."
  value       = module.function.function_arn
}

output "upload_prefix" {
  description = "Key prefix of uploaded objects (the serverlog_to_csv trigger prefix)."
  value       = var.upload_prefix
}

output "alarm_names" {
  description = "Names of the presign function's CloudWatch alarms."
  value       = module.function.alarm_names
}

output "server_key_prefix" {
  description = "Secrets Manager name prefix of the per-server upload keys (<prefix><server>)."
  value       = local.server_key_prefix
}

output "server_key_secret_arns" {
  description = "ARNs of the server-key secrets created for var.servers, by server name."
  value       = { for name, secret in aws_secretsmanager_secret.server_key : name => secret.arn }
}
