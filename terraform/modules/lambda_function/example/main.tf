provider "aws" {
  region = "eu-west-1"
}

variable "package_path" {
  description = "Zip built by `make build`."
  type        = string
  default     = "../../../../build/alb_to_cloudwatch.zip"
}

resource "aws_cloudwatch_log_group" "alb" {
  #checkov:skip=CKV_AWS_158: example log group, default CloudWatch Logs encryption
  #checkov:skip=CKV_AWS_338: example log group with a short retention
  name              = "/example/alb"
  retention_in_days = 30
}

module "function" {
  source = "../"

  function_name  = "logferry-alb_to_cloudwatch"
  package_path   = var.package_path
  s3_read_arns   = ["arn:aws:s3:::example-logferry-raw/alb/*"]
  log_group_arns = [aws_cloudwatch_log_group.alb.arn]

  environment_variables = {
    LOG_GROUP = aws_cloudwatch_log_group.alb.name
  }
}

output "function_arn" {
  value = module.function.function_arn
}
