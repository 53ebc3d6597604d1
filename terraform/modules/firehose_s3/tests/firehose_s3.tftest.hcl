# Offline tests of the firehose_s3 module: mock AWS provider, known account.
# Run: scripts/tofu -chdir=terraform/modules/firehose_s3 init -backend=false && scripts/tofu -chdir=terraform/modules/firehose_s3 test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

override_resource {
  target = aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/logferry-cwl-firehose" }
}

override_resource {
  target = aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/kinesisfirehose/logferry-cwl" }
}

variables {
  stream_name = "logferry-cwl"
  bucket_arn  = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  prefix      = "cwl/"
}

run "names_carry_the_stream_name" {
  command = plan

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.name == "logferry-cwl"
    error_message = "The stream must take stream_name."
  }
  assert {
    condition     = aws_iam_role.this.name == "logferry-cwl-firehose" && aws_iam_role_policy.this.name == "logferry-cwl-delivery"
    error_message = "The delivery role and policy must be named <stream_name>-firehose and <stream_name>-delivery."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/kinesisfirehose/logferry-cwl" && aws_cloudwatch_log_stream.this.name == "S3Delivery"
    error_message = "Delivery errors must go to /aws/kinesisfirehose/<stream_name>, stream S3Delivery."
  }
}

run "destination_is_the_bucket_under_the_prefix" {
  command = plan

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.destination == "extended_s3"
    error_message = "The stream must deliver to S3 (extended_s3)."
  }
  assert {
    condition = (
      one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).bucket_arn == "arn:aws:s3:::logferry-123456789012-eu-west-1-raw" &&
      one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).prefix == "cwl/" &&
      one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).error_output_prefix == "firehose-errors/logferry-cwl/"
    )
    error_message = "Objects must land in bucket_arn under prefix, failed records under firehose-errors/<stream_name>/."
  }
  assert {
    condition     = one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).compression_format == "GZIP"
    error_message = "Delivered objects must be gzip by default."
  }
  assert {
    condition     = one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).role_arn == "arn:aws:iam::123456789012:role/logferry-cwl-firehose"
    error_message = "The stream must deliver with its own role."
  }
  assert {
    condition = (
      one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).buffering_size == 5 &&
      one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).buffering_interval == 300
    )
    error_message = "Default buffering must be 5 MiB / 300 s."
  }
  assert {
    condition = (
      one(one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).cloudwatch_logging_options).enabled &&
      one(one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).cloudwatch_logging_options).log_group_name == "/aws/kinesisfirehose/logferry-cwl"
    )
    error_message = "Delivery errors must be logged to the stream's log group."
  }
  assert {
    condition     = one(aws_kinesis_firehose_delivery_stream.this.server_side_encryption).enabled && one(aws_kinesis_firehose_delivery_stream.this.server_side_encryption).key_type == "AWS_OWNED_CMK"
    error_message = "Records in the stream must be encrypted (AWS-owned key by default)."
  }
}

run "iam_is_scoped_to_the_bucket_prefix_and_log_stream" {
  command = plan

  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "BucketAccess"])) == toset(["arn:aws:s3:::logferry-123456789012-eu-west-1-raw"])
    error_message = "Bucket-level actions must be scoped to the destination bucket."
  }
  assert {
    condition = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "ObjectAccess"])) == toset([
      "arn:aws:s3:::logferry-123456789012-eu-west-1-raw/cwl/*",
      "arn:aws:s3:::logferry-123456789012-eu-west-1-raw/firehose-errors/logferry-cwl/*",
    ])
    error_message = "Object actions must be scoped to the delivery and error prefixes."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "DeliveryErrors"])) == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/kinesisfirehose/logferry-cwl:log-stream:S3Delivery"])
    error_message = "Error logging must be scoped to the S3Delivery stream of the stream's log group."
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.this.statement : !contains(s.resources, "*")])
    error_message = "No delivery statement may use Resource \"*\"."
  }
  assert {
    condition = anytrue([
      for c in one(data.aws_iam_policy_document.assume.statement).condition :
      c.test == "StringEquals" && c.variable == "sts:ExternalId" && toset(c.values) == toset(["123456789012"])
    ])
    error_message = "Only Firehose acting for this account (sts:ExternalId) may assume the role."
  }
}

run "uncompressed_with_kms" {
  command = plan

  variables {
    compression_format = "UNCOMPRESSED"
    kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/stream"
    bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/bucket"
    error_prefix       = "errors/"
  }

  assert {
    condition     = one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).compression_format == "UNCOMPRESSED"
    error_message = "compression_format must reach the stream."
  }
  assert {
    condition     = one(aws_kinesis_firehose_delivery_stream.this.server_side_encryption).key_type == "CUSTOMER_MANAGED_CMK" && one(aws_kinesis_firehose_delivery_stream.this.server_side_encryption).key_arn == "arn:aws:kms:eu-west-1:123456789012:key/stream"
    error_message = "kms_key_arn must encrypt the stream with a customer-managed key."
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "BucketKey"])) == toset(["arn:aws:kms:eu-west-1:123456789012:key/bucket"])
    error_message = "The role must use only the bucket's KMS key."
  }
  assert {
    condition     = one(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration).error_output_prefix == "errors/"
    error_message = "error_prefix must reach the stream."
  }
}

run "rejects_a_prefix_without_a_trailing_slash" {
  command = plan

  variables {
    prefix = "cwl"
  }

  expect_failures = [var.prefix]
}

run "rejects_an_unknown_compression" {
  command = plan

  variables {
    compression_format = "Snappy"
  }

  expect_failures = [var.compression_format]
}

run "rejects_an_object_arn_as_bucket_arn" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::logferry-raw/cwl/"
  }

  expect_failures = [var.bucket_arn]
}

run "rejects_a_buffer_over_128_mib" {
  command = plan

  variables {
    buffering_size_mb = 256
  }

  expect_failures = [var.buffering_size_mb]
}
