variable "function_name" {
  description = "Name of the Lambda function, by convention <name_prefix>-<key> (also names its role <name>-role, policy <name>-policy, log group /aws/lambda/<name>, queue <name>-failures and alarms <name>-errors, <name>-throttles, <name>-failures-queued)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.function_name))
    error_message = "function_name must be 1-56 characters of letters, digits, '-' and '_' (the role name <function_name>-role must fit IAM's 64)."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "package_path" {
  description = "Path to the deployment zip built by `make build` (e.g. build/<name>.zip)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point to a .zip file."
  }
}

variable "handler" {
  description = "Function entry point (module.function)."
  type        = string
  default     = "handler.handler"
}

variable "runtime" {
  description = "Lambda runtime: python3.11 or python3.12, the CPython versions whose compiled wheels (orjson, isal) `make build` puts in the zips."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12"], var.runtime)
    error_message = "runtime must be python3.11 or python3.12: the zips carry orjson and isal built only for CPython 3.11 and 3.12 (scripts/build_lambdas.py BINARY_PYTHONS), and every other runtime fails on import."
  }
}

variable "architecture" {
  description = "Instruction set architecture; only x86_64, the platform of the compiled wheels in the zips."
  type        = string
  default     = "x86_64"

  validation {
    condition     = var.architecture == "x86_64"
    error_message = "architecture must be x86_64: the zips carry orjson and isal built for manylinux2014_x86_64 only (scripts/build_lambdas.py), so arm64 fails on import."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; -1 (the default) leaves the function unreserved, 0 disables it. New accounts have a quota of 10 and no room to reserve any."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1
    error_message = "reserved_concurrent_executions must be -1 (unreserved) or more."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function (configuration only: secrets belong in Secrets Manager)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the function's log group /aws/lambda/<name>."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN encrypting the environment, the log group and the failure queue; null uses AWS-managed keys."
  type        = string
  default     = null
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active or PassThrough."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "s3_read_arns" {
  description = "Object ARN patterns the function may read (s3:GetObject), e.g. arn:aws:s3:::raw/alb/*."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.s3_read_arns : can(regex("^arn:aws[a-z-]*:s3:::[^/]+/.+", a))])
    error_message = "s3_read_arns must be object ARN patterns (arn:aws:s3:::<bucket>/<key pattern>)."
  }
}

variable "s3_write_arns" {
  description = "Object ARN patterns the function may write (s3:PutObject)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.s3_write_arns : can(regex("^arn:aws[a-z-]*:s3:::[^/]+/.+", a))])
    error_message = "s3_write_arns must be object ARN patterns (arn:aws:s3:::<bucket>/<key pattern>)."
  }
}

variable "log_group_arns" {
  description = "Log group ARNs (without the trailing :*) the function may write events to."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.log_group_arns : can(regex("^arn:aws[a-z-]*:logs:[^:]*:[^:]*:log-group:[^:*]+$", a))])
    error_message = "log_group_arns must be log group ARNs without a trailing ':*'."
  }
}

variable "logs_query_group_arns" {
  description = "Log group ARNs (without :*) the function may run Logs Insights queries on."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.logs_query_group_arns : can(regex("^arn:aws[a-z-]*:logs:[^:]*:[^:]*:log-group:[^:*]+$", a))])
    error_message = "logs_query_group_arns must be log group ARNs without a trailing ':*'."
  }
}

variable "secret_arns" {
  description = "Secrets Manager secret ARNs the function may read."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "secret_arns must be Secrets Manager ARNs."
  }
}

variable "ssm_read_parameter_arns" {
  description = "SSM parameter ARNs (or ARN patterns) the function may read."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ssm_read_parameter_arns : can(regex("^arn:aws[a-z-]*:ssm:[^:]*:[^:]*:parameter/", a))])
    error_message = "ssm_read_parameter_arns must be SSM parameter ARNs."
  }
}

variable "ssm_write_parameter_arns" {
  description = "SSM parameter ARNs (or ARN patterns) the function may write (ssm:PutParameter), e.g. alert state."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ssm_write_parameter_arns : can(regex("^arn:aws[a-z-]*:ssm:[^:]*:[^:]*:parameter/", a))])
    error_message = "ssm_write_parameter_arns must be SSM parameter ARNs."
  }
}

variable "search_domain_arns" {
  description = "OpenSearch/Elasticsearch domain ARNs the function may call over HTTP (es:ESHttp*)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.search_domain_arns : can(regex("^arn:aws[a-z-]*:es:[^:]*:[^:]*:domain/[^/]+$", a))])
    error_message = "search_domain_arns must be domain ARNs (arn:aws:es:<region>:<account>:domain/<name>)."
  }
}

variable "dynamodb_table_arns" {
  description = "DynamoDB tables the function reads and writes items of (GetItem, PutItem, UpdateItem, DeleteItem; no scans or queries)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.dynamodb_table_arns : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", a))])
    error_message = "dynamodb_table_arns must be DynamoDB table ARNs (arn:aws:dynamodb:<region>:<account>:table/<name>)."
  }
}

variable "kms_key_arns" {
  description = "KMS key ARNs the function may use to decrypt and encrypt data (e.g. SSE-KMS buckets, CMK secrets)."
  type        = list(string)
  default     = []
}

variable "allow_self_invoke" {
  description = "Let the function invoke itself asynchronously (to continue a large object in a new invocation)."
  type        = bool
  default     = false
}

variable "create_failure_queue" {
  description = "Create an SQS queue <name>-failures as the on-failure destination of asynchronous invocations."
  type        = bool
  default     = true
}

variable "failure_queue_retention_seconds" {
  description = "How long the failures queue keeps a record (`logferry redrive --failures-queue` sends it back), 60 seconds to 14 days (1209600, the SQS maximum and the default)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failure_queue_retention_seconds >= 60 && var.failure_queue_retention_seconds <= 1209600
    error_message = "failure_queue_retention_seconds must be between 60 and 1209600 (14 days, the SQS maximum)."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed asynchronous invocation (0-2)."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "maximum_retry_attempts must be between 0 and 2."
  }
}

variable "maximum_event_age_seconds" {
  description = "Maximum age of an asynchronous event before it goes to the failure destination (60-21600)."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 21600
    error_message = "maximum_event_age_seconds must be between 60 and 21600."
  }
}

variable "create_alarms" {
  description = "Create CloudWatch alarms on the function's Errors and Throttles metrics and on messages in its failure queue."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified by the alarms (the pipeline passes its <name_prefix>-alarms topic); null creates alarms without actions."
  type        = string
  default     = null
}

variable "error_alarm_threshold" {
  description = "Errors in 5 minutes at or above which the Errors alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.error_alarm_threshold >= 1
    error_message = "error_alarm_threshold must be at least 1."
  }
}

variable "vpc_subnet_ids" {
  description = "Subnets to run the function in (for a VPC-only search domain); empty runs it outside a VPC."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function when vpc_subnet_ids is set."
  type        = list(string)
  default     = []
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to the function's role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
