variable "stream_name" {
  description = "Name of the Firehose direct-put delivery stream the Kinesis Agent writes to."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the raw bucket the stream delivers to."
  type        = string
}

variable "prefix" {
  description = "Key prefix of delivered objects (gzip files of raw access-log lines)."
  type        = string
  default     = "agent/"
}

variable "log_file_patterns" {
  description = "Access-log file patterns the agent tails (rendered into agent_config_json)."
  type        = list(string)
  default     = ["/var/log/httpd/access_log*"]

  validation {
    condition     = length(var.log_file_patterns) > 0 && alltrue([for p in var.log_file_patterns : startswith(p, "/")])
    error_message = "log_file_patterns must be a non-empty list of absolute paths."
  }
}

variable "agent_emit_metrics" {
  description = "Let the agent publish its own CloudWatch metrics (grants cloudwatch:PutMetricData in the AWSKinesisAgent namespace)."
  type        = bool
  default     = true
}

variable "buffering_size_mb" {
  description = "Firehose buffer size in MiB (1-128)."
  type        = number
  default     = 5
}

variable "buffering_interval_seconds" {
  description = "Firehose buffer interval in seconds (0-900)."
  type        = number
  default     = 300
}

variable "bucket_kms_key_arn" {
  description = "KMS key of the raw bucket if it uses SSE-KMS; null otherwise."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the stream's delivery-error log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
