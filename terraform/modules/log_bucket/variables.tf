variable "bucket_name" {
  description = "Name of the bucket (globally unique, 3-63 lowercase characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for SSE-KMS; null uses SSE-S3 (AES256). ALB/ELB log delivery only supports SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "versioning" {
  description = "Enable object versioning."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Allow `destroy` to delete a bucket that still holds objects."
  type        = bool
  default     = false
}

variable "transition_to_ia_days" {
  description = "Days after which objects move to STANDARD_IA; null disables the transition."
  type        = number
  default     = 30

  validation {
    condition     = var.transition_to_ia_days == null || try(var.transition_to_ia_days >= 30, false)
    error_message = "transition_to_ia_days must be null or at least 30 (an S3 minimum for STANDARD_IA)."
  }
}

variable "expiration_days" {
  description = "Days after which objects expire (are deleted); null keeps them forever."
  type        = number
  default     = 365

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1, false)
    error_message = "expiration_days must be null or a positive number of days."
  }

  validation {
    condition     = var.expiration_days == null || var.transition_to_ia_days == null || try(var.expiration_days > var.transition_to_ia_days, false)
    error_message = "expiration_days (${coalesce(var.expiration_days, 0)}) must be greater than transition_to_ia_days (${coalesce(var.transition_to_ia_days, 0)}): S3 refuses a lifecycle rule that expires objects before or when they move to STANDARD_IA. Raise expiration_days or set transition_to_ia_days = null."
  }
}

variable "noncurrent_expiration_days" {
  description = "Days after which noncurrent versions expire (only used with versioning)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_expiration_days >= 1
    error_message = "noncurrent_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days must be at least 1."
  }
}

variable "access_log_bucket" {
  description = "Name of a bucket that receives S3 server access logs for this bucket; null disables them."
  type        = string
  default     = null
}

variable "access_log_prefix" {
  description = "Key prefix for S3 server access logs (used with access_log_bucket)."
  type        = string
  default     = "s3-access/"
}

variable "enable_elb_log_delivery" {
  description = "Allow ALB/ELB access-log delivery into this bucket (regional ELB account and logdelivery.elasticloadbalancing.amazonaws.com)."
  type        = bool
  default     = false
}

variable "elb_log_prefix" {
  description = "Key prefix the load balancers write under (the `prefix` of their access_logs block), without a trailing slash; empty for the bucket root."
  type        = string
  default     = "alb"

  validation {
    condition     = !startswith(var.elb_log_prefix, "/") && !endswith(var.elb_log_prefix, "/") && !strcontains(lower(var.elb_log_prefix), "awslogs")
    error_message = "elb_log_prefix must not start or end with '/' nor contain 'AWSLogs'."
  }
}

variable "elb_account_id" {
  description = "Override of the regional Elastic Load Balancing account id; null looks it up for the current region (regions opened after August 2022 have none and use the service principal only)."
  type        = string
  default     = null

  validation {
    condition     = var.elb_account_id == null || can(regex("^[0-9]{12}$", var.elb_account_id))
    error_message = "elb_account_id must be a 12-digit AWS account id."
  }
}

variable "tags" {
  description = "Tags applied to the bucket."
  type        = map(string)
  default     = {}
}
