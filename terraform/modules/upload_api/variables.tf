variable "name_prefix" {
  description = "Prefix of the API, parameter and stage names."
  type        = string
  default     = "logferry"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-' (as the pipeline's)."
  }
}

variable "function_name" {
  description = "Name of the presign function; null gives <name_prefix>-upload_url."
  type        = string
  default     = null
}

variable "package_path" {
  description = "Path to the presign function's zip (build/upload_url.zip)."
  type        = string
}

variable "raw_bucket_name" {
  description = "Name of the raw bucket uploads go to (RAW_BUCKET)."
  type        = string
}

variable "raw_bucket_arn" {
  description = "ARN of the raw bucket."
  type        = string
}

variable "upload_prefix" {
  description = "Key prefix of uploaded objects (UPLOAD_PREFIX); the function may only presign PUTs below it."
  type        = string
  default     = "uploads/"

  validation {
    condition     = endswith(var.upload_prefix, "/") && !startswith(var.upload_prefix, "/")
    error_message = "upload_prefix must end with '/' and not start with '/'."
  }
}

variable "allowed_cidrs" {
  description = "Source CIDRs allowed to request upload URLs (stored in the SSM StringList allowlist parameter)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_cidrs) > 0 && alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must be a non-empty list of CIDR blocks such as 203.0.113.0/24."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : try(cidrsubnet(c, 0, 0) == lower(c), false)])
    error_message = "allowed_cidrs entries must not have host bits set (10.1.2.7/8 would widen to 10.0.0.0/8): ${join(", ", [for c in var.allowed_cidrs : "${c} is ${try(cidrsubnet(c, 0, 0), "not a CIDR")}" if try(cidrsubnet(c, 0, 0) != lower(c), true)])}. Write the network (10.0.0.0/8) or one address (10.1.2.7/32)."
  }
}

variable "servers" {
  description = "Names of the on-prem servers that may upload; each gets a secret <name_prefix>/upload/servers/<name> for its key (set its value outside Terraform, e.g. openssl rand -hex 32)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.servers : can(regex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$", s)) && !strcontains(s, "..")])
    error_message = "servers must be names of 1-64 of A-Z a-z 0-9 . _ -, not starting with . or - and without .. (as log2aws.sh sends them)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted server-key secret can be restored; 0 deletes at once (so a server's secret can be recreated under the same name)."
  type        = number
  default     = 0
}

variable "restrict_source_ip_in_api_policy" {
  description = "Also deny other source IPs in the API's resource policy (defence in depth beside the function's own check)."
  type        = bool
  default     = true
}

variable "url_ttl_seconds" {
  description = "Lifetime of a presigned URL (URL_TTL_SECONDS)."
  type        = number
  default     = 300

  validation {
    condition     = var.url_ttl_seconds >= 1 && var.url_ttl_seconds <= 3600
    error_message = "url_ttl_seconds must be between 1 and 3600."
  }
}

variable "max_age_days" {
  description = "Oldest log date, in days before today, an upload may be for (MAX_AGE_DAYS)."
  type        = number
  default     = 31

  validation {
    condition     = var.max_age_days >= 1
    error_message = "max_age_days must be at least 1."
  }
}

variable "stage_name" {
  description = "API Gateway stage name."
  type        = string
  default     = "v1"
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second allowed on the stage."
  type        = number
  default     = 10
}

variable "throttle_burst_limit" {
  description = "Burst of requests allowed on the stage."
  type        = number
  default     = 20
}

variable "access_log_retention_days" {
  description = "Retention of the stage's access-log group; null disables access logging (it needs the account-level API Gateway CloudWatch role)."
  type        = number
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
