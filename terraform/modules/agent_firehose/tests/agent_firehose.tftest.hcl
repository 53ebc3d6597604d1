# Offline tests of the agent_firehose module: mock AWS provider, known account/region.
# Run: scripts/tofu -chdir=terraform/modules/agent_firehose init -backend=false && scripts/tofu -chdir=terraform/modules/agent_firehose test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
}

override_resource {
  target = module.stream.aws_kinesis_firehose_delivery_stream.this
  values = { arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-access-logs" }
}

override_resource {
  target = module.stream.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/logferry-access-logs-firehose" }
}

variables {
  stream_name       = "logferry-access-logs"
  bucket_arn        = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  log_file_patterns = ["/var/log/httpd/access_log*", "/var/log/nginx/access.log*"]
}

run "names_carry_the_stream_name" {
  command = plan

  assert {
    condition     = output.stream_name == "logferry-access-logs"
    error_message = "The stream must take stream_name."
  }
  assert {
    condition     = aws_iam_policy.agent.name == "logferry-access-logs-agent"
    error_message = "The agent policy must be named <stream_name>-agent."
  }
}

run "firehose_destination_is_the_raw_bucket_under_agent" {
  command = plan

  assert {
    condition     = output.stream_arn == "arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-access-logs"
    error_message = "stream_arn must be the Firehose stream's ARN."
  }
  assert {
    condition     = output.prefix == "agent/"
    error_message = "Access-log lines must land under agent/ (the access_log_to_search trigger prefix)."
  }
}

run "agent_config_points_at_the_stream" {
  command = plan

  assert {
    condition = jsondecode(output.agent_config_json).flows == [
      { filePattern = "/var/log/httpd/access_log*", deliveryStream = "logferry-access-logs", initialPosition = "START_OF_FILE" },
      { filePattern = "/var/log/nginx/access.log*", deliveryStream = "logferry-access-logs", initialPosition = "START_OF_FILE" },
    ]
    error_message = "agent.json must have one flow per file pattern into the stream."
  }
  assert {
    condition = (
      jsondecode(output.agent_config_json)["firehose.endpoint"] == "firehose.eu-west-1.amazonaws.com" &&
      jsondecode(output.agent_config_json)["cloudwatch.endpoint"] == "monitoring.eu-west-1.amazonaws.com"
    )
    error_message = "agent.json must use the current region's Firehose and CloudWatch endpoints."
  }
}

run "agent_policy_is_scoped" {
  command = plan

  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.agent.statement : s.resources if s.sid == "PutToStream"])) == toset(["arn:aws:firehose:eu-west-1:123456789012:deliverystream/logferry-access-logs"])
    error_message = "The agent may only put records into its stream."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.agent.statement :
      !contains(s.resources, "*") || (
        s.sid == "AgentMetrics" && toset(s.actions) == toset(["cloudwatch:PutMetricData"]) &&
        anytrue([for c in s.condition : c.variable == "cloudwatch:namespace" && toset(c.values) == toset(["AWSKinesisAgent"])])
      )
    ])
    error_message = "Resource \"*\" is only allowed for PutMetricData, limited to the AWSKinesisAgent namespace."
  }
}

run "without_agent_metrics" {
  command = plan

  variables {
    agent_emit_metrics = false
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.agent.statement : s.sid] == ["PutToStream"]
    error_message = "Without agent metrics the policy must only allow putting records."
  }
  assert {
    condition     = jsondecode(output.agent_config_json)["cloudwatch.emitMetrics"] == false
    error_message = "agent.json must not emit metrics when agent_emit_metrics is false."
  }
}

run "a_custom_prefix_reaches_the_stream" {
  command = plan

  variables {
    prefix = "agent/nginx/"
  }

  assert {
    condition     = output.prefix == "agent/nginx/"
    error_message = "prefix must reach the stream (the access_log_to_search trigger prefix)."
  }
}

run "rejects_relative_file_patterns" {
  command = plan

  variables {
    log_file_patterns = ["access_log"]
  }

  expect_failures = [var.log_file_patterns]
}

run "rejects_an_empty_pattern_list" {
  command = plan

  variables {
    log_file_patterns = []
  }

  expect_failures = [var.log_file_patterns]
}
