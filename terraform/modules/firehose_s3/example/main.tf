provider "aws" {
  region = "eu-west-1"
}

module "stream" {
  source = "../"

  stream_name = "example-logs"
  bucket_arn  = "arn:aws:s3:::example-logferry-raw"
  prefix      = "example/"
}

output "stream_arn" {
  value = module.stream.stream_arn
}
