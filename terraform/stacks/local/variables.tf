variable "aws_endpoint" {
  description = "URL of the local AWS emulator."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://", var.aws_endpoint))
    error_message = "aws_endpoint must be an http(s):// URL."
  }
}

variable "region" {
  description = "Region the emulator answers for."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "logferry"
}

variable "build_dir" {
  description = "Directory of the function zips built by `make build`, relative to this stack."
  type        = string
  default     = "../../../build"
}

variable "search_endpoint" {
  description = "URL of the local search node (Elasticsearch or OpenSearch) the functions ship to."
  type        = string
  default     = "http://127.0.0.1:9200"
}

variable "search_engine" {
  description = "elasticsearch or opensearch (the engine `make up` started)."
  type        = string
  default     = "elasticsearch"
}

variable "upload_allowed_cidrs" {
  description = "CIDRs allowed to request upload URLs locally."
  type        = list(string)
  default     = ["127.0.0.1/32"]
}

variable "alert_rules_json" {
  description = "Alert rules (JSON) for the local alert function."
  type        = string
  default     = "{\"rules\": []}"
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
