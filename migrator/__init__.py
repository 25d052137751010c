"""table-migration: replace a Pulumi-managed DynamoDB table without losing an item."""

__version__ = "0.3.0"
