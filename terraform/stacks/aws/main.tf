module "logferry" {
  source = "../../modules/pipeline"

  name_prefix          = var.name_prefix
  build_dir            = abspath("${path.root}/${var.build_dir}")
  bucket_names         = var.bucket_names
  trigger_via_sqs      = var.trigger_via_sqs
  enable_alb           = var.enable_alb
  enable_cwl           = var.enable_cwl
  cwl_log_group_names  = var.cwl_log_group_names
  enable_access_logs   = var.enable_access_logs
  access_log_format    = var.access_log_format
  log_sources          = var.log_sources
  enable_upload        = var.enable_upload
  upload_allowed_cidrs = var.upload_allowed_cidrs
  upload_servers       = var.upload_servers
  enable_alerting      = var.enable_alerting
  alert_rules_json     = var.alert_rules_json
  create_search_domain = var.create_search_domain
  search_endpoint      = var.search_endpoint
  search_engine        = var.search_engine
  search_secret_arn    = var.search_secret_arn
  index_prefix         = var.index_prefix

  log_expiration_days         = var.log_expiration_days
  log_transition_to_ia_days   = var.log_transition_to_ia_days
  force_destroy_buckets       = var.force_destroy_buckets
  alarm_sns_topic_arn         = var.alarm_sns_topic_arn
  alarm_email_addresses       = var.alarm_email_addresses
  slack_webhook_url           = var.slack_webhook_url
  secret_recovery_window_days = var.secret_recovery_window_days
  failures_retention_seconds  = var.failures_retention_seconds
  dlq_retention_seconds       = var.dlq_retention_seconds
  quarantine_expiration_days  = var.quarantine_expiration_days
  dead_end_alarms             = var.dead_end_alarms

  function_settings = {
    runtime                        = var.lambda_runtime
    log_retention_days             = var.log_retention_days
    reserved_concurrent_executions = var.reserved_concurrent_executions
  }
}
