# The same composition as the aws stack, with what the emulator cannot run switched off:
# no Firehose streams or OpenSearch domain (tests put Firehose-shaped objects into cwl/ and
# agent/ themselves; search is a local node), no CloudWatch alarms or X-Ray. S3 events reach the
# shippers through SQS queues as in AWS (the emulator polls them like Lambda does).
# shared/logferry/local/spec.py declares the same resources for the local deployer, and
# tests/terraform/test_local_matches_plan.py compares the two field by field: change both.
module "logferry" {
  source = "../../modules/pipeline"

  name_prefix           = var.name_prefix
  build_dir             = abspath("${path.root}/${var.build_dir}")
  force_destroy_buckets = true
  trigger_via_sqs       = true

  enable_alb            = true
  enable_cwl            = true
  create_cwl_firehose   = false
  enable_access_logs    = true
  create_agent_firehose = false
  enable_upload         = true
  upload_allowed_cidrs  = var.upload_allowed_cidrs
  enable_alerting       = true
  alert_rules_json      = var.alert_rules_json
  # Every other AWS log type under aws/, each object's format recognised from its key; nginx
  # and API Gateway access logs (the e2e suite covers every format with one deployment).
  log_sources = {
    aws_logs = { prefix = "aws/", format = "auto" }
    nginx    = { prefix = "agent-nginx/", format = "nginx" }
    apigw    = { prefix = "apigw/", format = "apigw" }
  }

  create_search_domain = false
  search_endpoint      = var.search_endpoint
  search_engine        = var.search_engine

  failures_retention_seconds = var.failures_retention_seconds
  dlq_retention_seconds      = var.dlq_retention_seconds
  quarantine_expiration_days = var.quarantine_expiration_days

  function_settings = {
    create_alarms                  = false
    tracing_mode                   = "PassThrough"
    reserved_concurrent_executions = -1
    log_retention_days             = 1
  }
}
