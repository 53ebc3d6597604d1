variable "bucket_name" {
  description = "Name of the bucket whose object events trigger the functions."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[^/]+$", var.bucket_arn))
    error_message = "bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "targets" {
  description = <<-EOT
    Functions notified by the bucket, keyed by a short target name. S3 keeps one notification
    configuration per bucket, so every trigger of a bucket goes into one module call; prefix/suffix
    filters of targets must not overlap. With via_sqs = true the bucket notifies an SQS queue
    (<queue_name_prefix>-<key>) with a dead-letter queue, and an event source mapping feeds the function
    with ReportBatchItemFailures; role_name (the function's role) then receives the queue permissions.
  EOT
  type = map(object({
    function_name              = string
    function_arn               = string
    filter_prefix              = optional(string, "")
    filter_suffix              = optional(string, "")
    events                     = optional(list(string), ["s3:ObjectCreated:*"])
    via_sqs                    = optional(bool, false)
    role_name                  = optional(string)
    batch_size                 = optional(number, 10)
    batching_window_seconds    = optional(number, 0)
    visibility_timeout_seconds = optional(number, 720)
    max_receive_count          = optional(number, 5)
    maximum_concurrency        = optional(number)
  }))

  validation {
    condition     = alltrue([for k, t in var.targets : !t.via_sqs || t.role_name != null])
    error_message = "targets with via_sqs = true need role_name (the function's execution role)."
  }

  validation {
    condition     = alltrue([for k, t in var.targets : t.batch_size >= 1 && t.batch_size <= 10000])
    error_message = "batch_size must be between 1 and 10000."
  }

  validation {
    condition     = alltrue([for k, t in var.targets : t.visibility_timeout_seconds >= 0 && t.visibility_timeout_seconds <= 43200])
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (set it to at least 6x the function timeout)."
  }

  validation {
    condition     = alltrue([for k, t in var.targets : t.maximum_concurrency == null || try(t.maximum_concurrency >= 2 && t.maximum_concurrency <= 1000, false)])
    error_message = "maximum_concurrency must be null or between 2 and 1000."
  }

  validation {
    condition     = alltrue([for k, t in var.targets : t.max_receive_count >= 1])
    error_message = "max_receive_count must be at least 1."
  }

  validation {
    condition     = alltrue([for k, t in var.targets : alltrue([for e in t.events : startswith(e, "s3:")])])
    error_message = "events must be S3 event types such as s3:ObjectCreated:*."
  }
}

variable "queue_name_prefix" {
  description = "Prefix of the SQS queue names created for via_sqs targets (<queue_name_prefix>-<key> and <queue_name_prefix>-<key>-dlq): the pipeline's name_prefix."
  type        = string
  default     = "logferry"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.queue_name_prefix))
    error_message = "queue_name_prefix must be 1-40 characters of letters, digits, '-' and '_' (queue names are at most 80)."
  }
}

variable "dlq_retention_seconds" {
  description = "How long each dead-letter queue keeps an S3 event (`logferry redrive --dlq` moves it back), 60 seconds to 14 days (1209600, the SQS maximum and the default). Keep it above the trigger queue's 4 days: SQS keeps a moved message's original enqueue time."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_seconds >= 60 && var.dlq_retention_seconds <= 1209600
    error_message = "dlq_retention_seconds must be between 60 and 1209600 (14 days, the SQS maximum)."
  }
}

variable "create_alarms" {
  description = "Create a CloudWatch alarm <queue_name_prefix>-<key>-dlq-queued on messages in each dead-letter queue."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified by the dead-letter queue alarms; null creates alarms without actions."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key for the queues; null uses SQS-managed encryption (SSE-SQS)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to the queues."
  type        = map(string)
  default     = {}
}
