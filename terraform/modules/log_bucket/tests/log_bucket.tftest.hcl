# Offline tests of the log_bucket module: mock AWS provider, known account/region/partition.
# Run: scripts/tofu -chdir=terraform/modules/log_bucket init -backend=false && scripts/tofu -chdir=terraform/modules/log_bucket test

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
  target = aws_s3_bucket.this
  values = {
    id  = "logferry-123456789012-eu-west-1-raw"
    arn = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  }
}

variables {
  bucket_name = "logferry-123456789012-eu-west-1-raw"
}

run "private_encrypted_tls_only" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == "logferry-123456789012-eu-west-1-raw"
    error_message = "The bucket must take bucket_name unchanged."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All four public access blocks must be on."
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without kms_key_arn the bucket must be SSE-S3 (AES256) encrypted."
  }
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.this.statement : s
      if s.sid == "DenyInsecureTransport" && s.effect == "Deny" && toset(s.actions) == toset(["s3:*"]) &&
      toset(s.resources) == toset(["arn:aws:s3:::logferry-123456789012-eu-west-1-raw", "arn:aws:s3:::logferry-123456789012-eu-west-1-raw/*"]) &&
      anytrue([for c in s.condition : c.test == "Bool" && c.variable == "aws:SecureTransport" && toset(c.values) == toset(["false"])])
    ]) == 1
    error_message = "The bucket policy must deny every s3 action on the bucket and its objects when aws:SecureTransport is false."
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["DenyInsecureTransport"]
    error_message = "Without ELB log delivery the policy must grant nothing."
  }
  assert {
    condition     = aws_s3_bucket_policy.this.bucket == "logferry-123456789012-eu-west-1-raw"
    error_message = "The policy must be attached to the bucket."
  }
  assert {
    condition     = length(aws_s3_bucket_versioning.this) == 0 && !output.versioning
    error_message = "Versioning must be off by default (the pipeline turns it on where it needs it)."
  }
}

run "lifecycle_defaults" {
  command = plan

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).transition).days == 30 && one(one(aws_s3_bucket_lifecycle_configuration.this.rule).transition).storage_class == "STANDARD_IA"
    error_message = "Objects must move to STANDARD_IA after 30 days by default."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 365
    error_message = "Objects must expire after 365 days by default."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).abort_incomplete_multipart_upload).days_after_initiation == 7
    error_message = "Incomplete multipart uploads must be aborted after 7 days."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule).status == "Enabled"
    error_message = "The lifecycle rule must be enabled."
  }
}

run "versioned_kms_bucket" {
  command = plan

  variables {
    versioning      = true
    kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    expiration_days = null
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this[0].versioning_configuration).status == "Enabled" && output.versioning
    error_message = "versioning = true must enable versioning."
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == true
    )
    error_message = "With kms_key_arn the bucket must be SSE-KMS with that key and a bucket key."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 30
    error_message = "A versioned bucket must expire noncurrent versions (30 days by default)."
  }
  assert {
    condition     = length(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration) == 0
    error_message = "expiration_days = null must keep objects (no expiration block)."
  }
}

run "elb_log_delivery_in_a_listed_region" {
  command = plan

  variables {
    enable_elb_log_delivery = true
  }

  assert {
    condition = toset(one([
      for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "AllowElbAccountLogDelivery"
    ])) == toset(["arn:aws:s3:::logferry-123456789012-eu-west-1-raw/alb/AWSLogs/123456789012/*"])
    error_message = "ELB delivery must only be allowed under <prefix>/AWSLogs/<own account>/."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.this.statement : [for p in s.principals : p.identifiers] if s.sid == "AllowElbAccountLogDelivery"
    ])) == toset(["arn:aws:iam::156460612806:root"])
    error_message = "eu-west-1's ELB account (156460612806) must be the principal."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.this.statement : [for p in s.principals : p.identifiers] if s.sid == "AllowElbServiceLogDelivery"
    ])) == toset(["logdelivery.elasticloadbalancing.amazonaws.com"])
    error_message = "The ELB log-delivery service principal must be allowed too."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement : toset(s.actions) == toset(["s3:PutObject"]) if s.sid != "DenyInsecureTransport"
    ])
    error_message = "ELB delivery statements may only grant s3:PutObject."
  }
}

run "elb_log_delivery_in_a_new_region_uses_the_service_principal_only" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { region = "ap-southeast-5" }
  }

  variables {
    enable_elb_log_delivery = true
    elb_log_prefix          = ""
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["DenyInsecureTransport", "AllowElbServiceLogDelivery"]
    error_message = "A region without an ELB account must only allow the log-delivery service principal."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "AllowElbServiceLogDelivery"])) == toset(["arn:aws:s3:::logferry-123456789012-eu-west-1-raw/AWSLogs/123456789012/*"])
    error_message = "An empty elb_log_prefix must allow delivery under AWSLogs/<account>/ at the bucket root."
  }
}

run "elb_delivery_refuses_kms" {
  command = plan

  variables {
    enable_elb_log_delivery = true
    kms_key_arn             = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [aws_s3_bucket_policy.this]
}

run "rejects_expiry_not_after_the_ia_transition" {
  command = plan

  variables {
    expiration_days = 30
  }

  expect_failures = [var.expiration_days]
}

run "accepts_a_short_expiry_without_transition" {
  command = plan

  variables {
    expiration_days       = 7
    transition_to_ia_days = null
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 7 && length(one(aws_s3_bucket_lifecycle_configuration.this.rule).transition) == 0
    error_message = "A short expiry must be accepted when the IA transition is off."
  }
}

run "rejects_an_ia_transition_before_30_days" {
  command = plan

  variables {
    transition_to_ia_days = 10
  }

  expect_failures = [var.transition_to_ia_days]
}

run "rejects_an_uppercase_bucket_name" {
  command = plan

  variables {
    bucket_name = "Logferry-Raw"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_a_prefix_with_awslogs" {
  command = plan

  variables {
    elb_log_prefix = "alb/AWSLogs"
  }

  expect_failures = [var.elb_log_prefix]
}

run "rejects_a_bad_kms_key" {
  command = plan

  variables {
    kms_key_arn = "alias/my-key"
  }

  expect_failures = [var.kms_key_arn]
}
