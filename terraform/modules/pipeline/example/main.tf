provider "aws" {
  region = "eu-west-1"
}

module "logferry" {
  source = "../"

  build_dir            = abspath("${path.root}/../../../../build")
  enable_alb           = true
  enable_upload        = true
  search_endpoint      = "https://search.example.com"
  search_engine        = "elasticsearch"
  upload_allowed_cidrs = ["203.0.113.10/32"]
}

output "buckets" {
  value = module.logferry.buckets
}
