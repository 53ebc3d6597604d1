provider "aws" {
  region = "eu-west-1"
}

variable "function_name" {
  description = "An existing function to notify."
  type        = string
  default     = "logferry-alb_to_cloudwatch"
}

variable "function_arn" {
  description = "ARN of that function."
  type        = string
  default     = "arn:aws:lambda:eu-west-1:111122223333:function:logferry-alb_to_cloudwatch"
}

module "triggers" {
  source = "../"

  bucket_name = "example-logferry-raw"
  bucket_arn  = "arn:aws:s3:::example-logferry-raw"

  targets = {
    alb = {
      function_name              = var.function_name
      function_arn               = var.function_arn
      role_name                  = "logferry-alb_to_cloudwatch-role"
      filter_prefix              = "alb/AWSLogs/"
      filter_suffix              = ".log.gz"
      via_sqs                    = true
      batch_size                 = 5
      visibility_timeout_seconds = 1800
    }
  }
}

output "queues" {
  value = module.triggers.queue_urls
}
