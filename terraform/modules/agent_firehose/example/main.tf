provider "aws" {
  region = "eu-west-1"
}

module "agent" {
  source = "../"

  stream_name       = "logferry-access-logs"
  bucket_arn        = "arn:aws:s3:::example-logferry-raw"
  log_file_patterns = ["/var/log/nginx/access.log*"]
}

output "agent_json" {
  value = module.agent.agent_config_json
}
