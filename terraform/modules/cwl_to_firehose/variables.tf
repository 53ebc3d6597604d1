variable "stream_name" {
  description = "Name of the Firehose delivery stream receiving the subscription data."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the raw bucket the stream delivers to."
  type        = string
}

variable "prefix" {
  description = "Key prefix of delivered objects (gzip files of concatenated CloudWatch Logs envelopes)."
  type        = string
  default     = "cwl/"
}

variable "log_group_names" {
  description = "Log groups to subscribe (each gets one subscription filter)."
  type        = list(string)

  validation {
    condition     = alltrue([for g in var.log_group_names : can(regex("^[A-Za-z0-9_/.#-]{1,512}$", g))])
    error_message = "log_group_names must be CloudWatch Logs group names."
  }
}

variable "filter_pattern" {
  description = "Subscription filter pattern; empty forwards every event."
  type        = string
  default     = ""
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
