terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # State is local by default. For a team, configure a remote backend, e.g.:
  # backend "s3" {
  #   bucket       = "<state bucket>"
  #   key          = "logferry/aws.tfstate"
  #   region       = "<region>"
  #   use_lockfile = true
  # }
}
