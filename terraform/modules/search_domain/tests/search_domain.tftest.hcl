# Offline tests of the search_domain module: mock AWS provider, known account/region/partition.
# Run: scripts/tofu -chdir=terraform/modules/search_domain init -backend=false && scripts/tofu -chdir=terraform/modules/search_domain test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

override_resource {
  target = aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/opensearch/logferry-logs" }
}

variables {
  domain_name = "logferry-logs"
  allowed_role_arns = [
    "arn:aws:iam::123456789012:role/logferry-alb_to_cloudwatch-role",
    "arn:aws:iam::123456789012:role/logferry-log_alert-role",
  ]
}

run "names_carry_the_domain_name" {
  command = plan

  assert {
    condition     = aws_opensearch_domain.this.domain_name == "logferry-logs"
    error_message = "The domain must take domain_name (<name_prefix>-logs in the pipeline)."
  }
  assert {
    condition = toset([for g in aws_cloudwatch_log_group.this : g.name]) == toset([
      "/aws/opensearch/logferry-logs/es_application_logs",
      "/aws/opensearch/logferry-logs/index_slow_logs",
      "/aws/opensearch/logferry-logs/search_slow_logs",
    ])
    error_message = "The engine log groups must be /aws/opensearch/<domain>/<log type>."
  }
  assert {
    condition     = aws_cloudwatch_log_resource_policy.this.policy_name == "logferry-logs-opensearch-logs"
    error_message = "The log resource policy must be named <domain>-opensearch-logs."
  }
}

run "encrypted_https_only_no_anonymous_access" {
  command = plan

  assert {
    condition     = one(aws_opensearch_domain.this.encrypt_at_rest).enabled && one(aws_opensearch_domain.this.node_to_node_encryption).enabled
    error_message = "The domain must encrypt at rest and between nodes."
  }
  assert {
    condition     = one(aws_opensearch_domain.this.domain_endpoint_options).enforce_https && one(aws_opensearch_domain.this.domain_endpoint_options).tls_security_policy == "Policy-Min-TLS-1-2-2019-07"
    error_message = "The endpoint must enforce HTTPS with TLS 1.2 or later."
  }
  assert {
    condition     = one(aws_opensearch_domain.this.advanced_security_options).anonymous_auth_enabled == false
    error_message = "Anonymous access must be off."
  }
  assert {
    condition     = one(aws_opensearch_domain.this.ebs_options).ebs_enabled && one(aws_opensearch_domain.this.ebs_options).volume_type == "gp3" && one(aws_opensearch_domain.this.ebs_options).volume_size == 20
    error_message = "Data nodes must have 20 GiB gp3 volumes by default."
  }
  assert {
    condition     = one(aws_opensearch_domain.this.cluster_config).instance_type == "t3.small.search" && aws_opensearch_domain.this.engine_version == "OpenSearch_2.19"
    error_message = "Defaults must be one t3.small.search node on OpenSearch_2.19."
  }
  assert {
    condition     = length(aws_opensearch_domain.this.vpc_options) == 0
    error_message = "Without subnet_ids the domain must have a public endpoint (guarded by its access policy)."
  }
  assert {
    condition     = toset([for o in aws_opensearch_domain.this.log_publishing_options : o.log_type]) == toset(["ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"])
    error_message = "Application and slow logs must be published."
  }
}

run "access_policy_admits_only_the_listed_roles" {
  command = plan

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.access.statement : [for p in s.principals : p.identifiers]
      ])) == toset([
      "arn:aws:iam::123456789012:role/logferry-alb_to_cloudwatch-role",
      "arn:aws:iam::123456789012:role/logferry-log_alert-role",
    ])
    error_message = "Only allowed_role_arns may call the domain."
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.access.statement).resources) == toset(["arn:aws:es:eu-west-1:123456789012:domain/logferry-logs/*"])
    error_message = "The access policy must be scoped to this domain's ARN."
  }
  assert {
    condition     = aws_opensearch_domain_policy.this.domain_name == "logferry-logs"
    error_message = "The access policy must be attached to the domain."
  }
  assert {
    condition = (
      toset(one(data.aws_iam_policy_document.logs.statement).resources) == toset([
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/opensearch/logferry-logs:*",
      ]) &&
      toset(flatten([for p in one(data.aws_iam_policy_document.logs.statement).principals : p.identifiers])) == toset(["es.amazonaws.com"])
    )
    error_message = "Only OpenSearch may write the engine logs, and only to the domain's log groups."
  }
}

run "vpc_domain_with_zone_awareness" {
  command = plan

  variables {
    subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
    security_group_ids = ["sg-0123456789abcdef0"]
    zone_awareness     = true
    instance_count     = 2
  }

  assert {
    condition     = toset(one(aws_opensearch_domain.this.vpc_options).subnet_ids) == toset(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"])
    error_message = "subnet_ids must put the domain in the VPC."
  }
  assert {
    condition     = one(aws_opensearch_domain.this.cluster_config).zone_awareness_enabled && one(aws_opensearch_domain.this.cluster_config).instance_count == 2
    error_message = "zone_awareness and instance_count must reach the cluster."
  }
}

run "fine_grained_access_needs_a_master_role" {
  command = plan

  variables {
    fine_grained_access = true
  }

  expect_failures = [aws_opensearch_domain.this]
}

run "fine_grained_access_with_a_master_role" {
  command = plan

  variables {
    fine_grained_access = true
    master_role_arn     = "arn:aws:iam::123456789012:role/search-admin"
  }

  assert {
    condition     = one(aws_opensearch_domain.this.advanced_security_options).enabled && one(one(aws_opensearch_domain.this.advanced_security_options).master_user_options).master_user_arn == "arn:aws:iam::123456789012:role/search-admin"
    error_message = "Fine-grained access control must use master_role_arn as master user."
  }
}

run "rejects_an_uppercase_domain_name" {
  command = plan

  variables {
    domain_name = "Logferry-Logs"
  }

  expect_failures = [var.domain_name]
}

run "rejects_no_allowed_roles" {
  command = plan

  variables {
    allowed_role_arns = []
  }

  expect_failures = [var.allowed_role_arns]
}

run "rejects_user_arns_as_roles" {
  command = plan

  variables {
    allowed_role_arns = ["arn:aws:iam::123456789012:user/alice"]
  }

  expect_failures = [var.allowed_role_arns]
}

run "rejects_a_bad_engine_version" {
  command = plan

  variables {
    engine_version = "7.10"
  }

  expect_failures = [var.engine_version]
}
