provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "logferry", ManagedBy = "terraform" }, var.tags)
  }
}
