"""logferry: ship logs landing in S3 to CloudWatch Logs and Elasticsearch/OpenSearch."""

__version__ = "0.1.0"
