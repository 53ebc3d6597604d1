provider "aws" {
  region = "eu-west-1"
}

variable "package_path" {
  description = "Zip built by `make build`."
  type        = string
  default     = "../../../../build/upload_url.zip"
}

module "upload" {
  source = "../"

  package_path    = var.package_path
  raw_bucket_name = "example-logferry-raw"
  raw_bucket_arn  = "arn:aws:s3:::example-logferry-raw"
  allowed_cidrs   = ["203.0.113.10/32"]
}

output "api_url" {
  value = module.upload.api_url
}
