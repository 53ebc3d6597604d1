provider "aws" {
  region = "eu-west-1"
}

module "cwl" {
  source = "../"

  stream_name     = "logferry-cwl"
  bucket_arn      = "arn:aws:s3:::example-logferry-raw"
  log_group_names = ["/ecs/my-service"]
}

output "stream_name" {
  value = module.cwl.stream_name
}
