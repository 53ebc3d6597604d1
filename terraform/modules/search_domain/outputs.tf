output "endpoint" {
  description = "HTTPS URL of the domain (SEARCH_URL)."
  value       = "https://${aws_opensearch_domain.this.endpoint}"
}

output "domain_arn" {
  description = "ARN of the domain (for search_domain_arns of the functions)."
  value       = aws_opensearch_domain.this.arn
}

output "domain_name" {
  description = "Name of the domain."
  value       = aws_opensearch_domain.this.domain_name
}

output "dashboards_url" {
  description = "URL of OpenSearch Dashboards."
  value       = "https://${aws_opensearch_domain.this.dashboard_endpoint}"
}
