variable "stream_name" {
  description = "Name of the Firehose delivery stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.stream_name))
    error_message = "stream_name must be 1-64 characters of letters, digits, '_', '.' and '-'."
  }
}

variable "bucket_arn" {
  description = "ARN of the destination bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[^/]+$", var.bucket_arn))
    error_message = "bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "prefix" {
  description = "Key prefix of delivered objects (Firehose appends YYYY/MM/dd/HH/); it must end with '/'."
  type        = string

  validation {
    condition     = endswith(var.prefix, "/") && !startswith(var.prefix, "/")
    error_message = "prefix must end with '/' and not start with '/'."
  }
}

variable "error_prefix" {
  description = "Key prefix of records Firehose failed to deliver; null uses firehose-errors/<stream_name>/. Keep it outside every trigger prefix."
  type        = string
  default     = null

  validation {
    condition     = var.error_prefix == null || try(endswith(var.error_prefix, "/") && !startswith(var.error_prefix, "/"), false)
    error_message = "error_prefix must end with '/' and not start with '/'."
  }
}

variable "compression_format" {
  description = "Compression of delivered objects: UNCOMPRESSED (for data that is already gzip, such as CloudWatch Logs subscriptions) or GZIP."
  type        = string
  default     = "GZIP"

  validation {
    condition     = contains(["UNCOMPRESSED", "GZIP"], var.compression_format)
    error_message = "compression_format must be UNCOMPRESSED or GZIP."
  }
}

variable "buffering_size_mb" {
  description = "Buffer size in MiB before delivery (1-128)."
  type        = number
  default     = 5

  validation {
    condition     = var.buffering_size_mb >= 1 && var.buffering_size_mb <= 128
    error_message = "buffering_size_mb must be between 1 and 128."
  }
}

variable "buffering_interval_seconds" {
  description = "Buffer interval in seconds before delivery (0-900)."
  type        = number
  default     = 300

  validation {
    condition     = var.buffering_interval_seconds >= 0 && var.buffering_interval_seconds <= 900
    error_message = "buffering_interval_seconds must be between 0 and 900."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting records inside the stream; null uses an AWS-owned key."
  type        = string
  default     = null
}

variable "bucket_kms_key_arn" {
  description = "KMS key of the destination bucket if it uses SSE-KMS (grants the stream kms:GenerateDataKey); null otherwise."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the stream's delivery-error log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
