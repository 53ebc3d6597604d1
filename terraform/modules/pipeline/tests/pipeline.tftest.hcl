# Offline tests of the pipeline module (the composition root): mock AWS provider, known
# account/region/partition, fixture zips in tests/fixtures/zips. Nested modules' resources are
# checked through their outputs and the pipeline's locals; each module's own tests cover the rest.
# Run: scripts/tofu -chdir=terraform/modules/pipeline init -backend=false && scripts/tofu -chdir=terraform/modules/pipeline test

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
  target = module.raw.aws_s3_bucket.this
  values = {
    id  = "logferry-123456789012-eu-west-1-raw"
    arn = "arn:aws:s3:::logferry-123456789012-eu-west-1-raw"
  }
}

override_resource {
  target = module.analyzed.aws_s3_bucket.this
  values = {
    id  = "logferry-123456789012-eu-west-1-analyzed"
    arn = "arn:aws:s3:::logferry-123456789012-eu-west-1-analyzed"
  }
}

override_resource {
  target = module.quarantine.aws_s3_bucket.this
  values = {
    id  = "logferry-123456789012-eu-west-1-quarantine"
    arn = "arn:aws:s3:::logferry-123456789012-eu-west-1-quarantine"
  }
}

override_resource {
  target = module.shipper.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/logferry-shipper-role" }
}

override_resource {
  target = module.alerting.module.function.aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/logferry-log_alert-role" }
}

override_resource {
  target = module.alerting.aws_secretsmanager_secret.slack
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/slack-webhook-AbCdEf" }
}

override_resource {
  target = module.search.aws_opensearch_domain.this
  values = {
    arn                = "arn:aws:es:eu-west-1:123456789012:domain/logferry-logs"
    endpoint           = "search-logferry-logs-abc123.eu-west-1.es.amazonaws.com"
    dashboard_endpoint = "search-logferry-logs-abc123.eu-west-1.es.amazonaws.com/_dashboards"
  }
}

override_resource {
  target = aws_dynamodb_table.checkpoints
  values = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/logferry-checkpoints" }
}

override_resource {
  target = aws_sns_topic.alarms
  values = { arn = "arn:aws:sns:eu-west-1:123456789012:logferry-alarms" }
}

variables {
  build_dir = "tests/fixtures/zips"
}

run "defaults_ship_alb_logs_through_sqs" {
  command = plan

  assert {
    condition     = module.raw.versioning && module.analyzed.versioning && !module.quarantine.versioning
    error_message = "The raw bucket must be versioned (an upload never replaces what was there), as the analyzed one; the quarantine is not."
  }

  assert {
    condition     = local.enabled_shippers == toset(["alb_to_cloudwatch"])
    error_message = "By default only the ALB shipper is deployed."
  }
  assert {
    condition     = tomap(output.function_names) == tomap({ alb_to_cloudwatch = "logferry-alb_to_cloudwatch" })
    error_message = "The ALB shipper must be named <name_prefix>-alb_to_cloudwatch, and be the only function."
  }
  assert {
    condition     = length(module.upload) + length(module.alerting) + length(module.cwl_firehose) + length(module.agent_firehose) + length(module.search) == 0
    error_message = "Upload, alerting, CloudWatch Logs, agent and search-domain modules must be off by default."
  }
  assert {
    condition = tomap(local.bucket_names) == tomap({
      raw        = "logferry-123456789012-eu-west-1-raw"
      analyzed   = "logferry-123456789012-eu-west-1-analyzed"
      quarantine = "logferry-123456789012-eu-west-1-quarantine"
    })
    error_message = "Buckets must be named <name_prefix>-<account>-<region>-<kind>."
  }
  assert {
    condition     = aws_cloudwatch_log_group.alb[0].name == "/logferry/alb" && output.alb_log_group_name == "/logferry/alb"
    error_message = "The ALB log group must be /<name_prefix>/alb."
  }
  assert {
    condition     = tomap(output.alb_access_logs) == tomap({ bucket = "logferry-123456789012-eu-west-1-raw", prefix = "alb" })
    error_message = "Load balancers must be told to log into the raw bucket under alb."
  }
  assert {
    condition = (
      module.shipper["alb_to_cloudwatch"].role_name == "logferry-alb_to_cloudwatch-role" &&
      module.shipper["alb_to_cloudwatch"].log_group_name == "/aws/lambda/logferry-alb_to_cloudwatch" &&
      module.shipper["alb_to_cloudwatch"].timeout == 300
    )
    error_message = "The ALB shipper's role and log group must carry its prefixed name; its timeout must be 300 s."
  }
  assert {
    condition     = toset(keys(module.raw_triggers[0].queue_arns)) == toset(["alb_to_cloudwatch"]) && toset(keys(module.raw_triggers[0].dead_letter_queue_arns)) == toset(["alb_to_cloudwatch"])
    error_message = "S3 events must reach the ALB shipper through an SQS queue with a DLQ by default."
  }
}

run "alb_shipper_reads_its_prefix_and_sinks_to_cloudwatch" {
  command = plan

  assert {
    condition     = local.all_shippers["alb_to_cloudwatch"].prefix == "alb/AWSLogs/" && local.all_shippers["alb_to_cloudwatch"].suffix == ".log.gz"
    error_message = "The ALB trigger must filter alb/AWSLogs/ ... .log.gz."
  }
  assert {
    condition     = local.all_shippers["alb_to_cloudwatch"].env["SINKS"] == "cloudwatch" && local.all_shippers["alb_to_cloudwatch"].env["LOG_GROUP"] == "/logferry/alb"
    error_message = "Without a search endpoint the ALB shipper must only sink to its CloudWatch Logs group."
  }
  assert {
    condition = (
      local.all_shippers["alb_to_cloudwatch"].env["QUARANTINE_BUCKET"] == "logferry-123456789012-eu-west-1-quarantine" &&
      local.all_shippers["alb_to_cloudwatch"].env["QUARANTINE_PREFIX"] == "quarantine"
    )
    error_message = "Unshippable records must go to the quarantine bucket."
  }
  assert {
    condition     = tolist(local.all_shippers["alb_to_cloudwatch"].log_groups) == tolist(["arn:aws:logs:eu-west-1:123456789012:log-group:/logferry/alb"])
    error_message = "The ALB shipper may only write to the ALB log group."
  }
  assert {
    condition     = tolist(local.all_shippers["alb_to_cloudwatch"].writes) == tolist(["arn:aws:s3:::logferry-123456789012-eu-west-1-quarantine/quarantine*"])
    error_message = "The ALB shipper may only write under the quarantine prefix."
  }
  assert {
    condition     = local.all_shippers["alb_to_cloudwatch"].zip == "alb_to_cloudwatch"
    error_message = "The ALB shipper must deploy build/alb_to_cloudwatch.zip."
  }
}

run "every_alarm_notifies_the_created_topic" {
  command = plan

  assert {
    condition     = aws_sns_topic.alarms[0].name == "logferry-alarms" && output.alarm_topic_arn == "arn:aws:sns:eu-west-1:123456789012:logferry-alarms"
    error_message = "Without alarm_sns_topic_arn the pipeline must create <name_prefix>-alarms and wire it to every alarm."
  }
  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id != null && aws_kms_alias.alarms[0].name == "alias/logferry-alarms"
    error_message = "The alarm topic must be encrypted with its own key (alias/<name_prefix>-alarms)."
  }
  assert {
    condition = toset(output.alarm_names) == toset([
      "logferry-alb_to_cloudwatch-errors",
      "logferry-alb_to_cloudwatch-throttles",
      "logferry-alb_to_cloudwatch-failures-queued",
      "logferry-alb_to_cloudwatch-dlq-queued",
      "logferry-alb_to_cloudwatch-parked",
      "logferry-alb_to_cloudwatch-failed",
      "logferry-alb_to_cloudwatch-object-errors",
      "logferry-quarantine-objects",
    ])
    error_message = "The ALB shipper needs alarms on errors, throttles, its failures queue, its trigger DLQ and its Parked/Failed/ObjectErrors metrics; the quarantine one on its objects."
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.alarm_topic[0].statement :
      s.sid == "CloudWatchAlarmsPublish" && toset(s.actions) == toset(["sns:Publish"]) &&
      toset(s.resources) == toset(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"]) &&
      toset(flatten([for p in s.principals : p.identifiers])) == toset(["cloudwatch.amazonaws.com"])
    ])
    error_message = "CloudWatch must be allowed to publish to the alarm topic, and only to it."
  }
}

run "a_given_topic_is_used_instead" {
  command = plan

  variables {
    alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops-pager"
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_kms_key.alarms) == 0
    error_message = "A given alarm_sns_topic_arn must not create a topic or key."
  }
  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:eu-west-1:123456789012:ops-pager"
    error_message = "Every alarm must notify the given topic."
  }
}

run "every_toggle_on" {
  command = plan

  variables {
    enable_cwl          = true
    cwl_log_group_names = ["/ecs/service-a"]
    enable_access_logs  = true
    access_log_format   = "nginx"
    enable_upload       = true
    enable_alerting     = true
    search_endpoint     = "https://search.example.com"
    log_sources = {
      cloudfront = { prefix = "cloudfront/", format = "cloudfront" }
      vpcflow    = { prefix = "AWSLogs/123456789012/vpcflowlogs/" }
    }
  }

  assert {
    condition = tomap(output.function_names) == tomap({
      alb_to_cloudwatch    = "logferry-alb_to_cloudwatch"
      cwl_to_search        = "logferry-cwl_to_search"
      access_log_to_search = "logferry-access_log_to_search"
      serverlog_to_csv     = "logferry-serverlog_to_csv"
      cloudfront_to_search = "logferry-cloudfront_to_search"
      vpcflow_to_search    = "logferry-vpcflow_to_search"
      upload_url           = "logferry-upload_url"
      log_alert            = "logferry-log_alert"
    })
    error_message = "Every toggle must add its function, each named <name_prefix>-<key>."
  }
  assert {
    condition = tomap({
      for k, s in local.all_shippers : k => s.env["SINKS"] if contains(local.enabled_shippers, k)
      }) == tomap({
      alb_to_cloudwatch    = "cloudwatch,search"
      cwl_to_search        = "search"
      access_log_to_search = "search,status_counts"
      serverlog_to_csv     = "csv"
      cloudfront_to_search = "search"
      vpcflow_to_search    = "search"
    })
    error_message = "Each shipper must get its SINKS (the ALB shipper adds search once an endpoint is set)."
  }
  assert {
    condition = tomap({
      for k, s in local.all_shippers : k => s.env["LOG_FORMAT"] if contains(keys(s.env), "LOG_FORMAT") && contains(local.enabled_shippers, k)
      }) == tomap({
      access_log_to_search = "nginx"
      cloudfront_to_search = "cloudfront"
      vpcflow_to_search    = "auto"
    })
    error_message = "access_log_format and each log source's format (default auto) must become LOG_FORMAT."
  }
  assert {
    condition = (
      local.all_shippers["cloudfront_to_search"].prefix == "cloudfront/" &&
      local.all_shippers["vpcflow_to_search"].prefix == "AWSLogs/123456789012/vpcflowlogs/" &&
      local.all_shippers["cloudfront_to_search"].zip == "access_log_to_search" &&
      local.all_shippers["vpcflow_to_search"].zip == "access_log_to_search"
    )
    error_message = "Each log source must be one function from the access_log_to_search zip, triggered under its prefix."
  }
  assert {
    condition = alltrue([
      for k in setsubtract(local.enabled_shippers, ["serverlog_to_csv"]) :
      local.all_shippers[k].env["SEARCH_URL"] == "https://search.example.com" && local.all_shippers[k].env["SEARCH_AUTH"] == "none" && local.all_shippers[k].env["SEARCH_ENGINE"] == "opensearch"
    ])
    error_message = "Every search shipper must get SEARCH_URL, SEARCH_ENGINE and SEARCH_AUTH=none (no secret, no domain)."
  }
  assert {
    condition = (
      local.all_shippers["serverlog_to_csv"].env["OUTPUT_BUCKET"] == "logferry-123456789012-eu-west-1-analyzed" &&
      !contains(keys(local.all_shippers["serverlog_to_csv"].env), "SEARCH_URL") &&
      local.all_shippers["serverlog_to_csv"].env["QUARANTINE_BUCKET"] == "logferry-123456789012-eu-west-1-quarantine"
    )
    error_message = "serverlog_to_csv must write CSV to the analyzed bucket, quarantine bad lines, and not talk to search."
  }
  assert {
    condition     = tolist(local.all_shippers["serverlog_to_csv"].writes) == tolist(["arn:aws:s3:::logferry-123456789012-eu-west-1-analyzed/*", "arn:aws:s3:::logferry-123456789012-eu-west-1-quarantine/quarantine*"])
    error_message = "serverlog_to_csv may only write to the analyzed bucket and the quarantine prefix."
  }
  assert {
    condition     = toset(keys(module.raw_triggers[0].queue_arns)) == local.enabled_shippers
    error_message = "Every S3-triggered shipper must get its own trigger queue."
  }
  assert {
    condition     = output.cwl_firehose_stream_name == "logferry-cwl"
    error_message = "The CloudWatch Logs Firehose stream must be named <name_prefix>-cwl."
  }
  assert {
    condition     = [for f in jsondecode(output.agent_config_json).flows : f.deliveryStream] == ["logferry-access-logs"]
    error_message = "The Kinesis Agent must write to <name_prefix>-access-logs."
  }
  assert {
    condition     = output.slack_secret_arn != null && output.upload_api_url != null
    error_message = "Alerting and upload must expose the secret to fill and the API URL."
  }
  assert {
    condition = toset(output.alarm_names) == toset(concat(
      flatten([for k in local.enabled_shippers : ["logferry-${k}-errors", "logferry-${k}-throttles", "logferry-${k}-failures-queued", "logferry-${k}-dlq-queued", "logferry-${k}-parked", "logferry-${k}-failed", "logferry-${k}-object-errors"]]),
      ["logferry-quarantine-objects"],
      ["logferry-upload_url-errors", "logferry-upload_url-throttles"],
      ["logferry-log_alert-errors", "logferry-log_alert-throttles", "logferry-log_alert-failures-queued", "logferry-log_alert-rule-errors"],
    ))
    error_message = "Every function, failures queue and trigger DLQ must have its alarm."
  }
}

run "direct_s3_triggers" {
  command = plan

  variables {
    trigger_via_sqs = false
  }

  assert {
    condition     = length(output.trigger_queue_urls) == 0 && length(module.raw_triggers[0].dead_letter_queue_arns) == 0
    error_message = "trigger_via_sqs = false must create no trigger queue or DLQ."
  }
  assert {
    condition     = !contains(output.alarm_names, "logferry-alb_to_cloudwatch-dlq-queued") && contains(output.alarm_names, "logferry-alb_to_cloudwatch-failures-queued")
    error_message = "Direct triggers have no DLQ alarm; the failures-queue alarm stays."
  }
}

run "a_search_domain_signs_requests" {
  command = plan

  variables {
    create_search_domain = true
    enable_alerting      = true
  }

  assert {
    condition     = length(module.search) == 1 && module.search[0].domain_name == "logferry-logs"
    error_message = "create_search_domain must create the domain <name_prefix>-logs."
  }
  assert {
    condition = (
      local.search_url == "https://search-logferry-logs-abc123.eu-west-1.es.amazonaws.com" &&
      local.all_shippers["alb_to_cloudwatch"].env["SEARCH_AUTH"] == "sigv4" &&
      local.all_shippers["alb_to_cloudwatch"].env["SINKS"] == "cloudwatch,search"
    )
    error_message = "With a domain the shippers must sign requests (sigv4) to its endpoint."
  }
  assert {
    condition     = tolist(local.search_domain_arns) == tolist(["arn:aws:es:eu-west-1:123456789012:domain/logferry-logs"])
    error_message = "The functions' es:ESHttp* grants must be scoped to the created domain."
  }
}

run "a_search_secret" {
  command = plan

  variables {
    search_endpoint   = "https://search.example.com"
    search_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/search-AbCdEf"
    search_engine     = "elasticsearch"
  }

  assert {
    condition = (
      local.all_shippers["alb_to_cloudwatch"].env["SEARCH_AUTH"] == "secret" &&
      local.all_shippers["alb_to_cloudwatch"].env["SEARCH_SECRET_ARN"] == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:logferry/search-AbCdEf" &&
      local.all_shippers["alb_to_cloudwatch"].env["SEARCH_ENGINE"] == "elasticsearch"
    )
    error_message = "A search secret must give SEARCH_AUTH=secret and SEARCH_SECRET_ARN."
  }
}

run "another_prefix_and_region_share_no_name" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { region = "us-east-2" }
  }

  variables {
    name_prefix     = "lf-staging"
    enable_upload   = true
    enable_alerting = true
  }

  assert {
    condition = tomap(local.bucket_names) == tomap({
      raw        = "lf-staging-123456789012-us-east-2-raw"
      analyzed   = "lf-staging-123456789012-us-east-2-analyzed"
      quarantine = "lf-staging-123456789012-us-east-2-quarantine"
    })
    error_message = "Bucket names must follow name_prefix and the region."
  }
  assert {
    condition     = alltrue([for n in values(output.function_names) : startswith(n, "lf-staging-")])
    error_message = "Every function name must start with <name_prefix>-."
  }
  assert {
    condition     = alltrue([for n in output.alarm_names : startswith(n, "lf-staging-")]) && length(output.alarm_names) > 0
    error_message = "Every alarm name must start with <name_prefix>-."
  }
  assert {
    condition     = aws_cloudwatch_log_group.alb[0].name == "/lf-staging/alb" && aws_sns_topic.alarms[0].name == "lf-staging-alarms"
    error_message = "The ALB log group and alarm topic must follow name_prefix."
  }
}

run "lifecycle_with_no_ia_transition_allows_a_short_expiry" {
  command = plan

  variables {
    log_expiration_days       = 14
    log_transition_to_ia_days = null
  }

  assert {
    condition     = local.bucket_names.raw == "logferry-123456789012-eu-west-1-raw"
    error_message = "A short expiry without IA transition must plan."
  }
}

run "rejects_an_expiry_not_after_the_ia_transition" {
  command = plan

  variables {
    log_expiration_days = 30
  }

  expect_failures = [var.log_expiration_days]
}

run "rejects_an_uppercase_prefix" {
  command = plan

  variables {
    name_prefix = "Logferry"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_a_prefix_too_long_for_bucket_names" {
  command = plan

  variables {
    name_prefix = "logferry-production-x"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_a_prefix_ending_in_a_dash" {
  command = plan

  variables {
    name_prefix = "logferry-"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_an_unknown_log_format" {
  command = plan

  variables {
    log_sources = { app = { prefix = "app/", format = "syslog" } }
  }

  expect_failures = [var.log_sources]
}

run "rejects_overlapping_log_source_prefixes" {
  command = plan

  variables {
    log_sources = {
      cloudfront = { prefix = "cdn/", format = "cloudfront" }
      waf        = { prefix = "cdn/", format = "waf" }
    }
  }

  expect_failures = [var.log_sources]
}

run "rejects_a_log_source_name_too_long_for_function_names" {
  command = plan

  variables {
    log_sources = { a_very_long_log_source_name_x = { prefix = "x/" } }
  }

  expect_failures = [var.log_sources]
}

run "rejects_an_unknown_access_log_format" {
  command = plan

  variables {
    access_log_format = "iis"
  }

  expect_failures = [var.access_log_format]
}

run "rejects_a_search_endpoint_without_scheme" {
  command = plan

  variables {
    search_endpoint = "search.example.com"
  }

  expect_failures = [var.search_endpoint]
}

run "rejects_a_bad_alarm_topic" {
  command = plan

  variables {
    alarm_sns_topic_arn = "ops-pager"
  }

  expect_failures = [var.alarm_sns_topic_arn]
}

run "rejects_a_recovery_window_of_three_days" {
  command = plan

  variables {
    secret_recovery_window_days = 3
  }

  expect_failures = [var.secret_recovery_window_days]
}

run "dead_end_alarms_watch_the_shipping_metrics" {
  command = plan

  variables {
    enable_cwl = true
    dead_end_alarms = {
      period_seconds     = 600
      evaluation_periods = 2
      failed_threshold   = 5
    }
  }

  assert {
    condition = alltrue([
      for k, a in aws_cloudwatch_metric_alarm.dead_end :
      length(a.metric_query) == 1 && one(a.metric_query).return_data &&
      one(a.metric_query).period == 600 && a.evaluation_periods == 2 &&
      a.treat_missing_data == "notBreaching" && a.comparison_operator == "GreaterThanThreshold" &&
      a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"]) &&
      a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"])
    ])
    error_message = "Every dead-end alarm must be one Metrics Insights query over the configured period, not breaching without data, notifying the alarm topic."
  }
  assert {
    condition = (
      one(aws_cloudwatch_metric_alarm.dead_end["cwl_to_search/parked"].metric_query).expression ==
      "SELECT SUM(Parked) FROM SCHEMA(\"logferry\", format, service) WHERE service = 'logferry-cwl_to_search'" &&
      one(aws_cloudwatch_metric_alarm.dead_end["alb_to_cloudwatch/failed"].metric_query).expression ==
      "SELECT SUM(Failed) FROM SCHEMA(\"logferry\", format, service) WHERE service = 'logferry-alb_to_cloudwatch'" &&
      one(aws_cloudwatch_metric_alarm.dead_end["alb_to_cloudwatch/object-errors"].metric_query).expression ==
      "SELECT SUM(ObjectErrors) FROM SCHEMA(\"logferry\", format, service) WHERE service = 'logferry-alb_to_cloudwatch'"
    )
    error_message = "The alarms must sum Parked, Failed and ObjectErrors of namespace logferry over every format, for the one shipper (dimension service = its function name), as shared/logferry/metrics.py publishes them."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dead_end["alb_to_cloudwatch/failed"].threshold == 5 &&
      aws_cloudwatch_metric_alarm.dead_end["alb_to_cloudwatch/parked"].threshold == 0 &&
      length(aws_cloudwatch_metric_alarm.dead_end) == 6
    )
    error_message = "Thresholds must come from dead_end_alarms (0 by default), one alarm per shipper and metric."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.quarantine_objects[0].namespace == "AWS/S3" &&
      aws_cloudwatch_metric_alarm.quarantine_objects[0].metric_name == "NumberOfObjects" &&
      aws_cloudwatch_metric_alarm.quarantine_objects[0].dimensions == tomap({ BucketName = "logferry-123456789012-eu-west-1-quarantine", StorageType = "AllStorageTypes" }) &&
      aws_cloudwatch_metric_alarm.quarantine_objects[0].period == 86400 &&
      aws_cloudwatch_metric_alarm.quarantine_objects[0].treat_missing_data == "notBreaching" &&
      aws_cloudwatch_metric_alarm.quarantine_objects[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:logferry-alarms"])
    )
    error_message = "The quarantine alarm must watch the quarantine bucket's daily NumberOfObjects and notify the alarm topic."
  }
}

run "no_dead_end_alarms_without_alarms" {
  command = plan

  variables {
    function_settings = { create_alarms = false }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.dead_end) == 0 && length(aws_cloudwatch_metric_alarm.quarantine_objects) == 0
    error_message = "create_alarms = false must create no dead-end alarm."
  }
}

run "dead_end_alarm_periods_are_validated" {
  command = plan

  variables {
    dead_end_alarms = { period_seconds = 90 }
  }

  expect_failures = [var.dead_end_alarms]
}

run "retention_is_configurable" {
  command = plan

  variables {
    failures_retention_seconds = 86400
    dlq_retention_seconds      = 604800
    quarantine_expiration_days = 30
  }

  assert {
    condition     = module.shipper["alb_to_cloudwatch"].failure_queue_retention_seconds == 86400
    error_message = "failures_retention_seconds must set each shipper's failures queue retention."
  }
  assert {
    condition     = module.raw_triggers[0].dlq_retention_seconds == 604800
    error_message = "dlq_retention_seconds must set each trigger DLQ's retention."
  }
  assert {
    condition     = module.quarantine.expiration_days == 30
    error_message = "quarantine_expiration_days must set the quarantine bucket's expiry."
  }
}

run "retention_beyond_the_sqs_maximum_is_refused" {
  command = plan

  variables {
    failures_retention_seconds = 1209601
    dlq_retention_seconds      = 30
  }

  expect_failures = [var.failures_retention_seconds, var.dlq_retention_seconds]
}

run "checkpoints_table" {
  command = plan

  variables {
    enable_cwl = true
  }

  assert {
    condition = (
      aws_dynamodb_table.checkpoints.name == "logferry-checkpoints" &&
      aws_dynamodb_table.checkpoints.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.checkpoints.hash_key == "pk" &&
      anytrue([for a in aws_dynamodb_table.checkpoints.attribute : a.name == "pk" && a.type == "S"]) &&
      aws_dynamodb_table.checkpoints.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.checkpoints.ttl[0].enabled &&
      aws_dynamodb_table.checkpoints.server_side_encryption[0].enabled &&
      aws_dynamodb_table.checkpoints.point_in_time_recovery[0].enabled
    )
    error_message = "<name_prefix>-checkpoints must be on-demand, keyed by pk (S), expire items by expires_at, be encrypted and have point-in-time recovery."
  }
  assert {
    condition = alltrue([
      for k in local.enabled_shippers : local.shipper_env[k]["CHECKPOINT_TABLE"] == "logferry-checkpoints"
    ])
    error_message = "Every shipper must get CHECKPOINT_TABLE = the table's name."
  }
  assert {
    condition     = output.checkpoint_table_name == "logferry-checkpoints"
    error_message = "The table's name must be an output."
  }
}

run "checkpoints_table_uses_the_bucket_key" {
  command = plan

  variables {
    bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = aws_dynamodb_table.checkpoints.server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "With bucket_kms_key_arn the checkpoints table must be encrypted with that key."
  }
}
