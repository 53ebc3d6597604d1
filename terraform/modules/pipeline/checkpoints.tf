# <name_prefix>-checkpoints: one item per object in progress (hash key pk), written by every
# shipper (CHECKPOINT_TABLE) so that a retried or redriven invocation resumes where the last
# one stopped instead of sending CloudWatch Logs events twice. Items carry expires_at (epoch
# seconds), which DynamoDB's TTL deletes. Encrypted with bucket_kms_key_arn when given, else
# with the AWS-managed key aws/dynamodb; point-in-time recovery on.

resource "aws_dynamodb_table" "checkpoints" {
  #checkov:skip=CKV_AWS_119: a customer-managed key is used when bucket_kms_key_arn is given; otherwise the AWS-managed aws/dynamodb key (checkpoints are offsets, not log content)
  name         = "${var.name_prefix}-checkpoints"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  tags         = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.bucket_kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }
}
