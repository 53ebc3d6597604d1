variable "domain_name" {
  description = "Name of the OpenSearch Service domain (3-28 lowercase characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.domain_name))
    error_message = "domain_name must be 3-28 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "engine_version" {
  description = "Engine version, e.g. OpenSearch_2.19 or Elasticsearch_7.10."
  type        = string
  default     = "OpenSearch_2.19"

  validation {
    condition     = can(regex("^(OpenSearch|Elasticsearch)_[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must look like OpenSearch_2.19 or Elasticsearch_7.10."
  }
}

variable "instance_type" {
  description = "Data node instance type."
  type        = string
  default     = "t3.small.search"

  validation {
    condition     = endswith(var.instance_type, ".search")
    error_message = "instance_type must be an OpenSearch Service instance type (ending in .search)."
  }
}

variable "instance_count" {
  description = "Number of data nodes (use 2 or more with zone awareness)."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1
    error_message = "instance_count must be at least 1."
  }
}

variable "zone_awareness" {
  description = "Spread data nodes over two availability zones (needs an even instance_count)."
  type        = bool
  default     = false
}

variable "volume_size_gb" {
  description = "EBS volume size per data node in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.volume_size_gb >= 10
    error_message = "volume_size_gb must be at least 10."
  }
}

variable "allowed_role_arns" {
  description = "IAM role ARNs allowed to call the domain over HTTP (the shipping and alert functions)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_role_arns) > 0 && alltrue([for a in var.allowed_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "allowed_role_arns must be a non-empty list of IAM role ARNs."
  }
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest; null uses the AWS-managed key."
  type        = string
  default     = null
}

variable "fine_grained_access" {
  description = "Enable fine-grained access control with an IAM master role (master_role_arn)."
  type        = bool
  default     = false
}

variable "master_role_arn" {
  description = "IAM role ARN that administers the domain when fine_grained_access is true."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets for a VPC domain; empty creates a public-endpoint domain protected by its access policy."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of a VPC domain."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the domain's application and slow-log groups."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
