provider "aws" {
  region = "eu-west-1"
}

module "search" {
  source = "../"

  domain_name       = "logferry-logs"
  allowed_role_arns = ["arn:aws:iam::111122223333:role/cwl_to_search-role"]
}

output "endpoint" {
  value = module.search.endpoint
}
