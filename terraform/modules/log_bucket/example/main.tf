provider "aws" {
  region = "eu-west-1"
}

module "raw" {
  source = "../"

  bucket_name             = "example-logferry-raw"
  enable_elb_log_delivery = true
  elb_log_prefix          = "alb"
  transition_to_ia_days   = 30
  expiration_days         = 365
}

output "bucket" {
  value = module.raw.bucket_id
}
