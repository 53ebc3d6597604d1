# Offline tests of the cwl_to_firehose module: mock AWS provider, known account/region/partition.
# Run: scripts/tofu -chdir=terraform/modules/cwl_to_firehose init -backend=false && scripts/tofu -chdir=terraform/modules/cwl_to_firehose test

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
  target = module.stream.aws_kinesis_firehose_delivery_stream.this
  values = { arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-cwl" }
}

override_resource {
  target = module.stream.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/logferry-cwl-firehose" }
}

override_resource {
  target = aws_iam_role.subscription
  values = { arn = "arn:aws:iam::123456789012:role/logferry-cwl-cwl" }
}

variables {
  stream_name     = "logferry-cwl"
  bucket_arn      = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  log_group_names = ["/ecs/service-a", "/ecs/service-b"]
}

run "names_carry_the_stream_name" {
  command = plan

  assert {
    condition     = output.stream_name == "logferry-cwl"
    error_message = "The Firehose stream must take stream_name."
  }
  assert {
    condition     = aws_iam_role.subscription.name == "logferry-cwl-cwl" && aws_iam_role_policy.subscription.name == "logferry-cwl-put"
    error_message = "The subscription role and policy must be named <stream_name>-cwl and <stream_name>-put."
  }
  assert {
    condition     = alltrue([for f in aws_cloudwatch_log_subscription_filter.this : f.name == "logferry-cwl-firehose"])
    error_message = "Every subscription filter must be named <stream_name>-firehose."
  }
}

run "every_group_is_subscribed_to_the_stream" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_log_subscription_filter.this)) == toset(["/ecs/service-a", "/ecs/service-b"])
    error_message = "Each log group must get one subscription filter."
  }
  assert {
    condition = alltrue([
      for g, f in aws_cloudwatch_log_subscription_filter.this :
      f.log_group_name == g && f.destination_arn == "arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-cwl" &&
      f.role_arn == "arn:aws:iam::123456789012:role/logferry-cwl-cwl" && f.filter_pattern == ""
    ])
    error_message = "Each filter must forward every event of its group to the stream with the subscription role."
  }
}

run "firehose_destination_is_the_raw_bucket_under_cwl" {
  command = plan

  assert {
    condition     = output.stream_arn == "arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-cwl"
    error_message = "stream_arn must be the Firehose stream's ARN."
  }
  assert {
    condition     = output.prefix == "cwl/"
    error_message = "Objects must land under cwl/ (the cwl_to_search trigger prefix)."
  }
  assert {
    condition     = output.subscription_role_arn == "arn:aws:iam::123456789012:role/logferry-cwl-cwl"
    error_message = "subscription_role_arn must be the role CloudWatch Logs assumes."
  }
}

run "iam_is_scoped" {
  command = plan

  assert {
    condition = (
      toset(one(data.aws_iam_policy_document.subscription.statement).resources) == toset(["arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-cwl"]) &&
      toset(one(data.aws_iam_policy_document.subscription.statement).actions) == toset(["firehose:PutRecord", "firehose:PutRecordBatch"])
    )
    error_message = "The subscription role may only put records into its stream."
  }
  assert {
    condition     = toset(flatten([for p in one(data.aws_iam_policy_document.assume.statement).principals : p.identifiers])) == toset(["logs.amazonaws.com"])
    error_message = "Only CloudWatch Logs may assume the subscription role."
  }
  assert {
    condition = anytrue([
      for c in one(data.aws_iam_policy_document.assume.statement).condition :
      c.test == "StringLike" && c.variable == "aws:SourceArn" && toset(c.values) == toset(["arn:aws:logs:eu-west-1:123456789012:*"])
    ])
    error_message = "The assume-role policy must be limited to this account's log groups in this region (aws:SourceArn)."
  }
}

run "a_filter_pattern_reaches_every_filter" {
  command = plan

  variables {
    filter_pattern = "?ERROR ?WARN"
    prefix         = "cwl/app/"
  }

  assert {
    condition     = alltrue([for f in aws_cloudwatch_log_subscription_filter.this : f.filter_pattern == "?ERROR ?WARN"])
    error_message = "filter_pattern must reach every subscription filter."
  }
  assert {
    condition     = output.prefix == "cwl/app/"
    error_message = "A custom prefix must reach the stream (and the trigger through the prefix output)."
  }
}

run "no_log_groups_no_filters" {
  command = plan

  variables {
    log_group_names = []
  }

  assert {
    condition     = length(aws_cloudwatch_log_subscription_filter.this) == 0 && output.stream_name == "logferry-cwl"
    error_message = "Without log groups the stream exists and no filter is created."
  }
}

run "rejects_a_bad_log_group_name" {
  command = plan

  variables {
    log_group_names = ["/ecs/service a"]
  }

  expect_failures = [var.log_group_names]
}
