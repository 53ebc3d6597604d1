provider "aws" {
  region = "eu-west-1"
}

variable "package_path" {
  description = "Zip built by `make build`."
  type        = string
  default     = "../../../../build/log_alert.zip"
}

module "alerting" {
  source = "../"

  package_path         = var.package_path
  query_log_group_arns = ["arn:aws:logs:eu-west-1:111122223333:log-group:/logferry/alb"]
  rules_json = jsonencode({
    defaults = { window = "5m", realert = "30m" }
    rules = [{
      name       = "alb-5xx"
      type       = "frequency"
      backend    = "logs_insights"
      log_groups = ["/logferry/alb"]
      query      = "filter @message like / 5[0-9][0-9] /"
      threshold  = 10
    }]
  })
}

output "slack_secret_arn" {
  value = module.alerting.slack_secret_arn
}
