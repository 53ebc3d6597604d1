data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  logs_arn  = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:"

  bucket_names = {
    for k in ["raw", "analyzed", "quarantine"] :
    k => coalesce(var.bucket_names[k], "${var.name_prefix}-${local.account}-${local.region}-${k}")
  }

  search_url = var.create_search_domain ? module.search[0].endpoint : var.search_endpoint
  # How the functions reach the search engine (shared by the shippers and the alert function).
  search_conn = merge(
    {
      SEARCH_URL    = local.search_url
      SEARCH_ENGINE = var.search_engine
      SEARCH_AUTH   = var.create_search_domain ? "sigv4" : (var.search_secret_arn == null ? "none" : "secret")
      INDEX_PREFIX  = var.index_prefix
    },
    var.search_secret_arn == null ? tomap({}) : tomap({ SEARCH_SECRET_ARN = var.search_secret_arn }),
  )
  quarantine_env = {
    QUARANTINE_BUCKET = module.quarantine.bucket_id
    QUARANTINE_PREFIX = var.quarantine_prefix
  }
  search_env         = merge(local.search_conn, local.quarantine_env)
  search_domain_arns = var.create_search_domain ? [module.search[0].domain_arn] : []
  quarantine_write   = ["${module.quarantine.bucket_arn}/${var.quarantine_prefix}*"]
  raw                = module.raw.bucket_arn

  # The S3-triggered functions: what each reads, where it writes, its environment.
  shippers = {
    alb_to_cloudwatch = {
      description = "ALB access logs from S3 to CloudWatch Logs and search"
      prefix      = module.raw.elb_log_key_prefix
      suffix      = ".log.gz"
      env = merge(local.search_env, {
        LOG_GROUP = try(aws_cloudwatch_log_group.alb[0].name, "")
        SINKS     = local.search_url == "" ? "cloudwatch" : "cloudwatch,search"
      })
      log_groups = [for g in aws_cloudwatch_log_group.alb : "${local.logs_arn}${g.name}"]
      writes     = local.quarantine_write
    }
    cwl_to_search = {
      description = "CloudWatch Logs subscription data (Firehose objects) to search"
      prefix      = var.cwl_prefix
      suffix      = ""
      env         = merge(local.search_env, { SINKS = "search" })
      log_groups  = []
      writes      = local.quarantine_write
    }
    access_log_to_search = {
      description = "Apache/nginx access logs (Kinesis Agent via Firehose) to search"
      prefix      = var.access_log_prefix
      suffix      = ""
      env         = merge(local.search_env, { LOG_FORMAT = var.access_log_format, SINKS = "search,status_counts" })
      log_groups  = []
      writes      = local.quarantine_write
    }
    serverlog_to_csv = {
      description = "Uploaded uptime+vmstat server logs to CSV"
      prefix      = var.upload_prefix
      suffix      = ""
      env         = merge(local.quarantine_env, { OUTPUT_BUCKET = module.analyzed.bucket_id, SINKS = "csv" })
      log_groups  = []
      writes      = concat(["${module.analyzed.bucket_arn}/*"], local.quarantine_write)
    }
  }
  # More AWS logs in the raw bucket (CloudFront, S3 access, VPC Flow, WAF, CloudTrail...):
  # one function each, the access_log_to_search zip with its LOG_FORMAT, shipping to search.
  source_shippers = {
    for name, source in var.log_sources : "${name}_to_search" => {
      description = "${source.format} logs under ${source.prefix} to search"
      prefix      = source.prefix
      suffix      = source.suffix
      env         = merge(local.search_env, { LOG_FORMAT = source.format, SINKS = "search" })
      log_groups  = []
      writes      = local.quarantine_write
      zip         = "access_log_to_search"
    }
  }
  all_shippers = merge(
    { for name, shipper in local.shippers : name => merge(shipper, { zip = name }) },
    local.source_shippers,
  )
  # Names only, so that for_each never depends on values computed from other modules.
  enabled_shippers = toset(concat([
    for name, on in {
      alb_to_cloudwatch    = var.enable_alb
      cwl_to_search        = var.enable_cwl
      access_log_to_search = var.enable_access_logs
      serverlog_to_csv     = var.enable_upload
    } : name if on
  ], [for name in keys(var.log_sources) : "${name}_to_search"]))
  search_shippers = setsubtract(local.enabled_shippers, ["serverlog_to_csv"])
  # What each enabled shipper's environment holds: its own, and the checkpoints table
  # (checkpoints.tf) in which every shipper records per-object progress.
  shipper_env = {
    for name in local.enabled_shippers :
    name => merge(local.all_shippers[name].env, { CHECKPOINT_TABLE = aws_dynamodb_table.checkpoints.name })
  }
}

module "raw" {
  source = "../log_bucket"

  bucket_name             = local.bucket_names.raw
  versioning              = true # an upload or a re-delivered log never replaces what was there
  force_destroy           = var.force_destroy_buckets
  expiration_days         = var.log_expiration_days
  transition_to_ia_days   = var.log_transition_to_ia_days
  enable_elb_log_delivery = var.enable_alb
  elb_log_prefix          = var.alb_log_prefix
  tags                    = var.tags
}

module "analyzed" {
  source = "../log_bucket"

  bucket_name     = local.bucket_names.analyzed
  force_destroy   = var.force_destroy_buckets
  kms_key_arn     = var.bucket_kms_key_arn
  versioning      = true
  expiration_days = null
  tags            = var.tags
}

module "quarantine" {
  source = "../log_bucket"

  bucket_name     = local.bucket_names.quarantine
  force_destroy   = var.force_destroy_buckets
  kms_key_arn     = var.bucket_kms_key_arn
  expiration_days = var.quarantine_expiration_days
  # Parked records move to STANDARD_IA after 30 days, unless they expire by then.
  transition_to_ia_days = try(var.quarantine_expiration_days > 30, true) ? 30 : null
  tags                  = var.tags
}

resource "aws_cloudwatch_log_group" "alb" {
  #checkov:skip=CKV_AWS_158: ALB access lines; CloudWatch Logs encrypts at rest by default
  #checkov:skip=CKV_AWS_338: retention is configurable (var.alb_log_retention_days)
  count = var.enable_alb ? 1 : 0

  name              = "/${var.name_prefix}/alb"
  retention_in_days = var.alb_log_retention_days
  tags              = var.tags
}

module "search" {
  source = "../search_domain"
  count  = var.create_search_domain ? 1 : 0

  domain_name       = "${var.name_prefix}-logs"
  engine_version    = var.search_domain_settings.engine_version
  instance_type     = var.search_domain_settings.instance_type
  instance_count    = var.search_domain_settings.instance_count
  volume_size_gb    = var.search_domain_settings.volume_size_gb
  allowed_role_arns = concat([for name in local.search_shippers : module.shipper[name].role_arn], module.alerting[*].role_arn)
  tags              = var.tags
}

module "shipper" {
  source   = "../lambda_function"
  for_each = local.enabled_shippers

  function_name                  = "${var.name_prefix}-${each.key}"
  description                    = local.all_shippers[each.key].description
  package_path                   = "${var.build_dir}/${local.all_shippers[each.key].zip}.zip"
  runtime                        = var.function_settings.runtime
  timeout                        = var.function_settings.timeout
  memory_size                    = var.function_settings.memory_size
  log_retention_days             = var.function_settings.log_retention_days
  create_alarms                  = var.function_settings.create_alarms
  alarm_sns_topic_arn            = local.alarm_topic_arn
  tracing_mode                   = var.function_settings.tracing_mode
  reserved_concurrent_executions = var.function_settings.reserved_concurrent_executions
  allow_self_invoke              = true
  environment_variables          = local.shipper_env[each.key]
  s3_write_arns                  = local.all_shippers[each.key].writes
  log_group_arns                 = local.all_shippers[each.key].log_groups
  secret_arns                    = compact([var.search_secret_arn])
  search_domain_arns             = local.search_domain_arns
  kms_key_arns                   = compact([var.bucket_kms_key_arn])
  tags                           = var.tags

  # Dead ends and checkpoints: the failures queue's retention, the checkpoints table's items.
  failure_queue_retention_seconds = var.failures_retention_seconds
  dynamodb_table_arns             = [aws_dynamodb_table.checkpoints.arn]

  # serverlog_to_csv also reads back (and copies from) the CSV its earlier parts wrote.
  s3_read_arns = concat(
    ["${local.raw}/${local.all_shippers[each.key].prefix}*"],
    each.key == "serverlog_to_csv" ? ["${module.analyzed.bucket_arn}/*"] : [],
  )
}

module "raw_triggers" {
  source = "../s3_trigger"
  count  = length(local.enabled_shippers) > 0 ? 1 : 0

  bucket_name         = module.raw.bucket_id
  bucket_arn          = module.raw.bucket_arn
  queue_name_prefix   = var.name_prefix
  create_alarms       = var.function_settings.create_alarms
  alarm_sns_topic_arn = local.alarm_topic_arn
  tags                = var.tags

  # How long each dead-letter queue keeps an S3 event for `logferry redrive --dlq`.
  dlq_retention_seconds = var.dlq_retention_seconds

  targets = {
    for name in local.enabled_shippers : name => {
      function_name              = module.shipper[name].function_name
      function_arn               = module.shipper[name].function_arn
      role_name                  = module.shipper[name].role_name
      filter_prefix              = local.all_shippers[name].prefix
      filter_suffix              = local.all_shippers[name].suffix
      via_sqs                    = var.trigger_via_sqs
      visibility_timeout_seconds = 6 * var.function_settings.timeout
      # Keep the poller within the reserved concurrency, so messages are not throttled into the DLQ.
      maximum_concurrency = var.function_settings.reserved_concurrent_executions >= 2 ? var.function_settings.reserved_concurrent_executions : null
    }
  }
}

module "cwl_firehose" {
  source = "../cwl_to_firehose"
  count  = var.enable_cwl && var.create_cwl_firehose ? 1 : 0

  stream_name     = "${var.name_prefix}-cwl"
  bucket_arn      = module.raw.bucket_arn
  prefix          = var.cwl_prefix
  log_group_names = var.cwl_log_group_names
  tags            = var.tags
}

module "agent_firehose" {
  source = "../agent_firehose"
  count  = var.enable_access_logs && var.create_agent_firehose ? 1 : 0

  stream_name       = "${var.name_prefix}-access-logs"
  bucket_arn        = module.raw.bucket_arn
  prefix            = var.access_log_prefix
  log_file_patterns = var.agent_log_file_patterns
  tags              = var.tags
}

module "upload" {
  source = "../upload_api"
  count  = var.enable_upload ? 1 : 0

  name_prefix     = var.name_prefix
  package_path    = "${var.build_dir}/upload_url.zip"
  raw_bucket_name = module.raw.bucket_id
  raw_bucket_arn  = module.raw.bucket_arn
  upload_prefix   = var.upload_prefix
  allowed_cidrs   = var.upload_allowed_cidrs
  servers         = var.upload_servers
  tags            = var.tags

  secret_recovery_window_days = var.secret_recovery_window_days

  function_settings = {
    runtime             = var.function_settings.runtime
    log_retention_days  = var.function_settings.log_retention_days
    create_alarms       = var.function_settings.create_alarms
    alarm_sns_topic_arn = local.alarm_topic_arn
    tracing_mode        = var.function_settings.tracing_mode

    reserved_concurrent_executions = var.function_settings.reserved_concurrent_executions
  }
}

module "alerting" {
  source = "../alerting"
  count  = var.enable_alerting ? 1 : 0

  name_prefix          = var.name_prefix
  package_path         = "${var.build_dir}/log_alert.zip"
  schedule_expression  = var.alert_schedule
  rules_json           = var.alert_rules_json
  query_log_group_arns = concat([for g in aws_cloudwatch_log_group.alb : "${local.logs_arn}${g.name}"], [for n in var.alert_query_log_group_names : "${local.logs_arn}${n}"])
  search_domain_arns   = local.search_domain_arns
  secret_arns          = compact([var.search_secret_arn])
  slack_webhook_url    = var.slack_webhook_url
  tags                 = var.tags

  secret_recovery_window_days = var.secret_recovery_window_days

  environment_variables = merge(
    local.search_conn,
    var.create_search_domain ? tomap({ DASHBOARDS_URL = module.search[0].dashboards_url }) : tomap({}),
  )

  function_settings = {
    runtime             = var.function_settings.runtime
    log_retention_days  = var.function_settings.log_retention_days
    create_alarms       = var.function_settings.create_alarms
    alarm_sns_topic_arn = local.alarm_topic_arn
    tracing_mode        = var.function_settings.tracing_mode

    reserved_concurrent_executions = var.function_settings.reserved_concurrent_executions
  }
}
