variable "region" {
  description = "AWS region to deploy to (the region of the load balancers and log groups)."
  type        = string
  default     = "ap-northeast-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (2-20 characters of a-z, 0-9, '-'); a second deployment in the same account and region needs another."
  type        = string
  default     = "logferry"
}

variable "build_dir" {
  description = "Directory of the function zips built by `make build`, relative to this stack."
  type        = string
  default     = "../../../build"
}

variable "bucket_names" {
  description = "Bucket names (raw, analyzed, quarantine); unset ones become <name_prefix>-<account>-<region>-<kind>."
  type = object({
    raw        = optional(string)
    analyzed   = optional(string)
    quarantine = optional(string)
  })
  default = {}
}

variable "enable_alb" {
  description = "Ship ALB access logs to CloudWatch Logs (and search)."
  type        = bool
  default     = true
}

variable "enable_cwl" {
  description = "Ship CloudWatch Logs groups (cwl_log_group_names) through Firehose to search."
  type        = bool
  default     = false
}

variable "cwl_log_group_names" {
  description = "Log groups to subscribe when enable_cwl."
  type        = list(string)
  default     = []
}

variable "enable_access_logs" {
  description = "Ship Apache/nginx access logs from the Kinesis Agent to search."
  type        = bool
  default     = false
}

variable "access_log_format" {
  description = "apache or nginx."
  type        = string
  default     = "apache"
}

variable "log_sources" {
  description = "More AWS logs in the raw bucket to ship to search: name => { prefix, format (auto, cloudfront, s3access, vpcflow, waf, cloudtrail, ...), suffix }, one function each."
  type = map(object({
    prefix = string
    format = optional(string, "auto")
    suffix = optional(string, "")
  }))
  default = {}
}

variable "enable_upload" {
  description = "Deploy the upload API and the server-log CSV conversion."
  type        = bool
  default     = false
}

variable "upload_allowed_cidrs" {
  description = "CIDRs of the on-prem servers allowed to upload."
  type        = list(string)
  default     = ["192.0.2.0/24"]
}

variable "upload_servers" {
  description = "Names of the on-prem servers that may upload (one key secret each; README: On-prem uploads)."
  type        = list(string)
  default     = []
}

variable "enable_alerting" {
  description = "Deploy the scheduled Slack alerts."
  type        = bool
  default     = false
}

variable "slack_webhook_url" {
  description = "Slack webhook URL for the alerts; null (the default) leaves the secret empty to set with `aws secretsmanager put-secret-value` (which keeps the URL out of the state)."
  type        = string
  default     = null
  sensitive   = true
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the Slack secret on destroy; 0 deletes it at once so destroy-then-apply works."
  type        = number
  default     = 0
}

variable "alert_rules_json" {
  description = "Alert rules (JSON)."
  type        = string
  default     = "{\"rules\": []}"
}

variable "create_search_domain" {
  description = "Create an Amazon OpenSearch Service domain; false uses search_endpoint."
  type        = bool
  default     = false
}

variable "search_endpoint" {
  description = "Existing search endpoint URL when create_search_domain is false; empty disables search shipping."
  type        = string
  default     = ""
}

variable "search_engine" {
  description = "opensearch or elasticsearch."
  type        = string
  default     = "opensearch"
}

variable "search_secret_arn" {
  description = "Secrets Manager secret with search credentials, if the endpoint needs them."
  type        = string
  default     = null
}

variable "index_prefix" {
  description = "Prefix of search indices."
  type        = string
  default     = "logferry"
}

variable "trigger_via_sqs" {
  description = "Feed the shipping functions through SQS (retries, DLQ, partial batch failures)."
  type        = bool
  default     = true
}

variable "lambda_runtime" {
  description = "Python runtime of the functions: python3.11 or python3.12 (scripts/build_lambdas.py puts compiled wheels for those two in the zips)."
  type        = string
  default     = "python3.12"
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of every function; -1 (the default) leaves them unreserved, which a new account (quota 10) needs."
  type        = number
  default     = -1
}

variable "log_expiration_days" {
  description = "Days after which raw log objects expire (greater than log_transition_to_ia_days); null keeps them."
  type        = number
  default     = 365
}

variable "log_transition_to_ia_days" {
  description = "Days after which raw log objects move to STANDARD_IA (at least 30); null keeps them in STANDARD."
  type        = number
  default     = 30
}

variable "force_destroy_buckets" {
  description = "Let `make destroy` delete the buckets with the objects still in them (for trial deployments)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the functions' own log groups."
  type        = number
  default     = 30
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic every alarm notifies (function errors/throttles, failure queues, DLQs); null creates <name_prefix>-alarms."
  type        = string
  default     = null
}

variable "alarm_email_addresses" {
  description = "Email addresses subscribed to the created <name_prefix>-alarms topic (each confirms by mail)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

variable "failures_retention_seconds" {
  description = "How long each shipper's failures queue keeps a record for `logferry redrive --failures-queue` (60 to 1209600 = 14 days)."
  type        = number
  default     = 1209600
}

variable "dlq_retention_seconds" {
  description = "How long each trigger dead-letter queue keeps an S3 event for `logferry redrive --dlq` (60 to 1209600 = 14 days)."
  type        = number
  default     = 1209600
}

variable "quarantine_expiration_days" {
  description = "Days after which parked records in the quarantine bucket expire; null keeps them."
  type        = number
  default     = 90
}

variable "dead_end_alarms" {
  description = "Periods and thresholds of the alarms on the shippers' Parked, Failed and ObjectErrors metrics and on the quarantine's object count (see the pipeline module)."
  type = object({
    period_seconds               = optional(number, 300)
    evaluation_periods           = optional(number, 1)
    parked_threshold             = optional(number, 0)
    failed_threshold             = optional(number, 0)
    object_errors_threshold      = optional(number, 0)
    quarantine_objects_threshold = optional(number, 0)
  })
  default = {}
}
