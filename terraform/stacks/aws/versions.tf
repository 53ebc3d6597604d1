terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # State is local (terraform.tfstate here) unless backend.tf holds a backend block:
  # cp backend.tf.example backend.tf and edit it (S3 with lockfile locking).
}
