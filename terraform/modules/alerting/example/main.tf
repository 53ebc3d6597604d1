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
    rules = [{
      name      = "alb-5xx"
      log_group = "/logferry/alb"
      query     = "fields @timestamp, @message | filter @message like / 5[0-9][0-9] /"
      threshold = 1
    }]
  })
}

output "slack_secret_arn" {
  value = module.alerting.slack_secret_arn
}
