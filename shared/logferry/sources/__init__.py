"""Sources: reading S3 objects (and local files) as streams of uncompressed bytes."""
