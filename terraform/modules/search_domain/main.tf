data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  domain_arn = "arn:${data.aws_partition.current.partition}:es:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:domain/${var.domain_name}"
  log_types  = toset(["ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"])
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158: engine logs; CloudWatch Logs encrypts at rest by default
  #checkov:skip=CKV_AWS_338: retention is configurable (var.log_retention_days)
  for_each = local.log_types

  name              = "/aws/opensearch/${var.domain_name}/${lower(each.key)}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.this : "${g.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "this" {
  policy_name     = "${var.domain_name}-opensearch-logs"
  policy_document = data.aws_iam_policy_document.logs.json
}

resource "aws_opensearch_domain" "this" {
  #checkov:skip=CKV2_AWS_52: fine-grained access control is optional (var.fine_grained_access); the access policy admits only allowed_role_arns
  #checkov:skip=CKV2_AWS_59: dedicated masters are a sizing choice (instance_count) left to the user
  #checkov:skip=CKV_AWS_318: high availability (zone_awareness, instance_count) is a sizing choice left to the user
  #checkov:skip=CKV_AWS_137: a VPC is optional (var.subnet_ids); the public endpoint accepts only signed requests from allowed_role_arns
  #checkov:skip=CKV_AWS_317: audit logs need fine-grained access control, which is optional (var.fine_grained_access)
  #checkov:skip=CKV_AWS_247: encryption at rest uses the AWS-managed key unless var.kms_key_arn is set
  domain_name    = var.domain_name
  engine_version = var.engine_version
  tags           = var.tags

  cluster_config {
    instance_type          = var.instance_type
    instance_count         = var.instance_count
    zone_awareness_enabled = var.zone_awareness
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = var.kms_key_arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  advanced_security_options {
    enabled                        = var.fine_grained_access
    anonymous_auth_enabled         = false
    internal_user_database_enabled = false

    dynamic "master_user_options" {
      for_each = var.fine_grained_access ? [1] : []
      content {
        master_user_arn = var.master_role_arn
      }
    }
  }

  dynamic "vpc_options" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  dynamic "log_publishing_options" {
    for_each = aws_cloudwatch_log_group.this
    content {
      log_type                 = log_publishing_options.key
      cloudwatch_log_group_arn = log_publishing_options.value.arn
    }
  }

  lifecycle {
    precondition {
      condition     = !var.fine_grained_access || var.master_role_arn != null
      error_message = "fine_grained_access needs master_role_arn."
    }
  }

  depends_on = [aws_cloudwatch_log_resource_policy.this]
}

data "aws_iam_policy_document" "access" {
  statement {
    sid       = "AllowListedRoles"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
    resources = ["${local.domain_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = var.allowed_role_arns
    }
  }
}

resource "aws_opensearch_domain_policy" "this" {
  domain_name     = aws_opensearch_domain.this.domain_name
  access_policies = data.aws_iam_policy_document.access.json
}
