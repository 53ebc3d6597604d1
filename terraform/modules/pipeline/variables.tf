variable "name_prefix" {
  description = "Prefix of every resource name: functions <name_prefix>-<key>, queues, log groups, alarms, topic, streams, schedule, secret, parameters, buckets <name_prefix>-<account>-<region>-<kind>. Two deployments in one account need two prefixes, also in different regions (IAM role and policy names are account-wide)."
  type        = string
  default     = "logferry"

  # 20 keeps every derived name within AWS's limits: the longest function name
  # (<prefix>-access_log_to_search, or <prefix>-<log source>_to_search, see log_sources) within
  # 56 so its role <function>-role fits IAM's 64; buckets <prefix>-<12-digit account>-<region>-quarantine
  # within S3's 63 for every region name (at most 14 characters); the OpenSearch domain
  # <prefix>-logs within 28.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-' (derived names must fit S3's 63-character bucket names, IAM's 64-character role names and OpenSearch's 28-character domain names)."
  }
}

variable "build_dir" {
  description = "Directory holding the function zips from `make build` (<build_dir>/<function>.zip)."
  type        = string
}

variable "bucket_names" {
  description = "Bucket names; a null entry becomes <name_prefix>-<account id>-<region>-<raw|analyzed|quarantine>."
  type = object({
    raw        = optional(string)
    analyzed   = optional(string)
    quarantine = optional(string)
  })
  default = {}
}

variable "force_destroy_buckets" {
  description = "Let `destroy` delete buckets that still hold objects."
  type        = bool
  default     = false
}

variable "bucket_kms_key_arn" {
  description = "KMS key for the analyzed and quarantine buckets (the raw bucket stays SSE-S3 for ALB delivery); null uses SSE-S3."
  type        = string
  default     = null
}

variable "log_expiration_days" {
  description = "Days after which objects in the raw bucket expire; null keeps them. Must exceed log_transition_to_ia_days."
  type        = number
  default     = 365

  validation {
    condition     = var.log_expiration_days == null || var.log_transition_to_ia_days == null || try(var.log_expiration_days > var.log_transition_to_ia_days, false)
    error_message = "log_expiration_days (${coalesce(var.log_expiration_days, 0)}) must be greater than log_transition_to_ia_days (${coalesce(var.log_transition_to_ia_days, 0)}): S3 refuses a rule that expires raw objects before or when they move to STANDARD_IA. Raise log_expiration_days or set log_transition_to_ia_days = null."
  }
}

variable "log_transition_to_ia_days" {
  description = "Days after which objects in the raw bucket move to STANDARD_IA (at least 30); null keeps them in STANDARD."
  type        = number
  default     = 30

  validation {
    condition     = var.log_transition_to_ia_days == null || try(var.log_transition_to_ia_days >= 30, false)
    error_message = "log_transition_to_ia_days must be null or at least 30 (the S3 minimum for STANDARD_IA)."
  }
}

variable "trigger_via_sqs" {
  description = "Deliver S3 events to the shipping functions through SQS queues (retries, DLQ, batch item failures) instead of direct invocation."
  type        = bool
  default     = true
}

variable "function_settings" {
  description = "Settings shared by every function: runtime (python3.11 or python3.12, what the zips carry), log retention, alarms, tracing, reserved concurrency (-1 = unreserved, the default: new accounts have none to reserve), and the shippers' timeout and memory."
  type = object({
    runtime                        = optional(string, "python3.12")
    log_retention_days             = optional(number, 30)
    create_alarms                  = optional(bool, true)
    tracing_mode                   = optional(string, "Active")
    reserved_concurrent_executions = optional(number, -1)
    timeout                        = optional(number, 300)
    memory_size                    = optional(number, 512)
  })
  default = {}
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic every alarm notifies; null creates <name_prefix>-alarms (KMS-encrypted) for them."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be null or an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "alarm_email_addresses" {
  description = "Email addresses subscribed to the created <name_prefix>-alarms topic (each confirms by mail); ignored when alarm_sns_topic_arn is given."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+$", a))])
    error_message = "alarm_email_addresses must be email addresses."
  }
}

variable "enable_alb" {
  description = "Ship ALB access logs (alb_to_cloudwatch) and allow ELB log delivery into the raw bucket."
  type        = bool
  default     = true
}

variable "alb_log_prefix" {
  description = "Prefix the load balancers write under in the raw bucket (their access_logs prefix), without slashes."
  type        = string
  default     = "alb"
}

variable "alb_log_retention_days" {
  description = "Retention of the CloudWatch Logs group receiving ALB lines (LOG_GROUP)."
  type        = number
  default     = 90
}

variable "enable_cwl" {
  description = "Ship CloudWatch Logs subscription data delivered by Firehose (cwl_to_search)."
  type        = bool
  default     = false
}

variable "create_cwl_firehose" {
  description = "Create the subscription filters and Firehose stream (off where Firehose is not emulated)."
  type        = bool
  default     = true
}

variable "cwl_log_group_names" {
  description = "Log groups subscribed to the Firehose stream."
  type        = list(string)
  default     = []
}

variable "enable_access_logs" {
  description = "Ship Apache/nginx access logs delivered by the Kinesis Agent through Firehose (access_log_to_search)."
  type        = bool
  default     = false
}

variable "create_agent_firehose" {
  description = "Create the agent's Firehose stream (off where Firehose is not emulated)."
  type        = bool
  default     = true
}

variable "access_log_format" {
  description = "Format of the access logs (LOG_FORMAT): apache or nginx."
  type        = string
  default     = "apache"

  validation {
    condition     = contains(["apache", "nginx"], var.access_log_format)
    error_message = "access_log_format must be apache or nginx."
  }
}

variable "agent_log_file_patterns" {
  description = "Access-log files the Kinesis Agent tails."
  type        = list(string)
  default     = ["/var/log/httpd/access_log*"]
}

variable "enable_upload" {
  description = "Deploy the upload API (upload_url) and the CSV conversion of uploaded server logs (serverlog_to_csv)."
  type        = bool
  default     = false
}

variable "upload_allowed_cidrs" {
  description = "CIDRs allowed to request upload URLs."
  type        = list(string)
  default     = ["127.0.0.1/32"]
}

variable "upload_servers" {
  description = "On-prem servers that may upload; each gets the secret <name_prefix>/upload/servers/<name> for its key (value set outside Terraform)."
  type        = list(string)
  default     = []
}

variable "upload_prefix" {
  description = "Key prefix of uploaded server logs in the raw bucket."
  type        = string
  default     = "uploads/"
}

variable "enable_alerting" {
  description = "Deploy the scheduled alert function (<name_prefix>-log_alert) and its Slack webhook secret <name_prefix>/slack-webhook."
  type        = bool
  default     = false
}

variable "slack_webhook_url" {
  description = "Slack incoming-webhook URL stored as the secret's value (it is then in the state too); null leaves the secret without a value, to set with `aws secretsmanager put-secret-value`. Until it has one, alerts are evaluated but not posted."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.slack_webhook_url == null || can(regex("^https://", var.slack_webhook_url))
    error_message = "slack_webhook_url must be null or an https:// webhook URL."
  }
}

variable "secret_recovery_window_days" {
  description = "Days Secrets Manager keeps the deleted Slack secret recoverable; 0 (the default) deletes it at once, so destroy-then-apply can create <name_prefix>/slack-webhook again."
  type        = number
  default     = 0

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "alert_rules_json" {
  description = "Alert rules (JSON) stored in SSM."
  type        = string
  default     = "{\"rules\": []}"
}

variable "alert_schedule" {
  description = "Schedule of the alert function."
  type        = string
  default     = "rate(5 minutes)"
}

variable "alert_query_log_group_names" {
  description = "Extra log groups the alert rules may query (the ALB group is included when enable_alb)."
  type        = list(string)
  default     = []
}

variable "create_search_domain" {
  description = "Create an Amazon OpenSearch Service domain; false uses search_endpoint."
  type        = bool
  default     = false
}

variable "search_endpoint" {
  description = "URL of an existing Elasticsearch/OpenSearch endpoint (SEARCH_URL) when create_search_domain is false; empty disables search shipping."
  type        = string
  default     = ""

  validation {
    condition     = var.search_endpoint == "" || can(regex("^https?://", var.search_endpoint))
    error_message = "search_endpoint must be empty or an http(s):// URL."
  }
}

variable "search_engine" {
  description = "Search engine flavour (SEARCH_ENGINE): opensearch or elasticsearch."
  type        = string
  default     = "opensearch"

  validation {
    condition     = contains(["opensearch", "elasticsearch"], var.search_engine)
    error_message = "search_engine must be opensearch or elasticsearch."
  }
}

variable "search_secret_arn" {
  description = "Secrets Manager secret with search credentials (SEARCH_SECRET_ARN); null signs requests with the function role or sends none."
  type        = string
  default     = null
}

variable "search_domain_settings" {
  description = "Settings of the OpenSearch domain when create_search_domain is true."
  type = object({
    engine_version = optional(string, "OpenSearch_2.19")
    instance_type  = optional(string, "t3.small.search")
    instance_count = optional(number, 1)
    volume_size_gb = optional(number, 20)
  })
  default = {}
}

variable "index_prefix" {
  description = "Prefix of search indices (INDEX_PREFIX)."
  type        = string
  default     = "logferry"
}

variable "quarantine_prefix" {
  description = "Key prefix for unshippable records in the quarantine bucket (QUARANTINE_PREFIX)."
  type        = string
  default     = "quarantine"
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "cwl_prefix" {
  description = "Key prefix of Firehose-delivered CloudWatch Logs objects in the raw bucket."
  type        = string
  default     = "cwl/"
}

variable "access_log_prefix" {
  description = "Key prefix of Firehose-delivered access-log objects in the raw bucket."
  type        = string
  default     = "agent/"
}

variable "log_sources" {
  description = "More logs in the raw bucket to ship to search, one function (<name>_to_search, the access_log_to_search zip) each: name => { prefix (key prefix in the raw bucket), format (LOG_FORMAT: auto recognises each object from its key), suffix }."
  type = map(object({
    prefix = string
    format = optional(string, "auto")
    suffix = optional(string, "")
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.log_sources) : can(regex("^[a-z][a-z0-9_]{0,24}$", name))])
    error_message = "log_sources names must be lowercase letters, digits and _ (at most 25), starting with a letter."
  }
  validation {
    condition = alltrue([for source in values(var.log_sources) : contains(
      ["auto", "cloudfront", "s3access", "vpcflow", "waf", "cloudtrail", "loadbalancer", "alb", "elb", "nlb", "apache", "nginx", "apigw", "cwl"],
      source.format
    )])
    error_message = "log_sources format must be one of auto, cloudfront, s3access, vpcflow, waf, cloudtrail, loadbalancer, alb, elb, nlb, apache, nginx, apigw, cwl."
  }
  validation {
    condition     = length(distinct([for source in values(var.log_sources) : source.prefix])) == length(var.log_sources)
    error_message = "log_sources prefixes must differ (S3 refuses overlapping notification filters)."
  }
}

variable "failures_retention_seconds" {
  description = "How long each shipper's failures queue (<function>-failures, the asynchronous on-failure destination) keeps a record for `logferry redrive --failures-queue`: 60 seconds to 14 days (1209600, the SQS maximum and the default)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failures_retention_seconds >= 60 && var.failures_retention_seconds <= 1209600
    error_message = "failures_retention_seconds must be between 60 and 1209600 (14 days, the SQS maximum)."
  }
}

variable "dlq_retention_seconds" {
  description = "How long each trigger queue's dead-letter queue (<name_prefix>-<key>-dlq) keeps an S3 event for `logferry redrive --dlq`: 60 seconds to 14 days (1209600, the SQS maximum and the default)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_seconds >= 60 && var.dlq_retention_seconds <= 1209600
    error_message = "dlq_retention_seconds must be between 60 and 1209600 (14 days, the SQS maximum)."
  }
}

variable "quarantine_expiration_days" {
  description = "Days after which parked records in the quarantine bucket expire (`logferry replay` ships them until then); null keeps them. Kept longer than 30 days, they move to STANDARD_IA at 30."
  type        = number
  default     = 90

  validation {
    condition     = var.quarantine_expiration_days == null || try(var.quarantine_expiration_days >= 1, false)
    error_message = "quarantine_expiration_days must be null or at least 1."
  }
}

variable "dead_end_alarms" {
  description = "Alarms on what the shippers could not ship (when function_settings.create_alarms): per shipper, the sums of its Parked, Failed and ObjectErrors metrics over period_seconds above their thresholds for evaluation_periods periods; and the quarantine bucket's daily NumberOfObjects above quarantine_objects_threshold (parked records waiting for `logferry replay`)."
  type = object({
    period_seconds               = optional(number, 300)
    evaluation_periods           = optional(number, 1)
    parked_threshold             = optional(number, 0)
    failed_threshold             = optional(number, 0)
    object_errors_threshold      = optional(number, 0)
    quarantine_objects_threshold = optional(number, 0)
  })
  default = {}

  validation {
    condition     = var.dead_end_alarms.period_seconds >= 60 && var.dead_end_alarms.period_seconds % 60 == 0
    error_message = "dead_end_alarms.period_seconds must be a multiple of 60 (Metrics Insights alarms), at least 60."
  }
  validation {
    condition     = var.dead_end_alarms.evaluation_periods >= 1 && var.dead_end_alarms.period_seconds * var.dead_end_alarms.evaluation_periods <= 86400
    error_message = "dead_end_alarms.evaluation_periods must be at least 1, and period_seconds x evaluation_periods at most one day."
  }
  validation {
    condition = alltrue([for t in [
      var.dead_end_alarms.parked_threshold, var.dead_end_alarms.failed_threshold,
      var.dead_end_alarms.object_errors_threshold, var.dead_end_alarms.quarantine_objects_threshold,
    ] : t >= 0])
    error_message = "dead_end_alarms thresholds must be 0 or more (an alarm fires above its threshold)."
  }
}
