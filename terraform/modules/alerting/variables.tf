variable "name_prefix" {
  description = "Prefix of the secret, parameter and rule names."
  type        = string
  default     = "logferry"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-' (as the pipeline's)."
  }
}

variable "function_name" {
  description = "Name of the alert function; null gives <name_prefix>-log_alert."
  type        = string
  default     = null
}

variable "slack_webhook_url" {
  description = "Slack incoming-webhook URL written as the secret's value (it is then in the state too); null leaves the secret without a value, to set with `aws secretsmanager put-secret-value`."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.slack_webhook_url == null || can(regex("^https://", var.slack_webhook_url))
    error_message = "slack_webhook_url must be null or an https:// webhook URL."
  }
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the Slack secret on deletion; 0 (the default) deletes it at once, so destroy-then-apply can create the same name again."
  type        = number
  default     = 0

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30 (Secrets Manager's limits)."
  }
}

variable "package_path" {
  description = "Path to the alert function's zip (build/log_alert.zip)."
  type        = string
}

variable "schedule_expression" {
  description = "EventBridge schedule of the alert run."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be rate(...) or cron(...)."
  }
}

variable "rules_json" {
  description = "Alert rules (JSON) stored in the SSM parameter RULES_PARAM; ignored when rules_s3_uri is set."
  type        = string
  default     = "{\"rules\": []}"

  validation {
    condition     = can(jsondecode(var.rules_json))
    error_message = "rules_json must be valid JSON."
  }
}

variable "rules_s3_uri" {
  description = "s3://bucket/key of a rules file to read instead of the SSM parameter (RULES_S3_URI); null uses rules_json."
  type        = string
  default     = null

  validation {
    condition     = var.rules_s3_uri == null || can(regex("^s3://[^/]+/.+", var.rules_s3_uri))
    error_message = "rules_s3_uri must look like s3://bucket/key."
  }
}

variable "query_log_group_arns" {
  description = "Log group ARNs (without :*) the rules may query with Logs Insights."
  type        = list(string)
  default     = []
}

variable "search_domain_arns" {
  description = "Search domain ARNs the rules may query (AWS-managed domains only)."
  type        = list(string)
  default     = []
}

variable "secret_arns" {
  description = "Other secrets the function reads, e.g. search credentials (SEARCH_SECRET_ARN)."
  type        = list(string)
  default     = []
}

variable "environment_variables" {
  description = "Extra environment variables (e.g. SEARCH_URL, SEARCH_ENGINE, INDEX_PREFIX, LOG_GROUP)."
  type        = map(string)
  default     = {}
}

variable "secret_kms_key_arn" {
  description = "KMS key encrypting the Slack webhook secret; null uses the AWS-managed key."
  type        = string
  default     = null
}

variable "function_settings" {
  description = "Settings passed to the lambda_function module (runtime, retention, alarms, tracing, concurrency)."
  type = object({
    runtime                        = optional(string, "python3.12")
    log_retention_days             = optional(number, 30)
    create_alarms                  = optional(bool, true)
    alarm_sns_topic_arn            = optional(string)
    tracing_mode                   = optional(string, "Active")
    reserved_concurrent_executions = optional(number, -1)
  })
  default = {}
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
