"""table-migration: replace a Pulumi-managed DynamoDB table without losing an item.

It imports nothing and defines nothing: the Lambda archive ships it. The version is the distribution's
(pyproject.toml; read with ``importlib.metadata.version("table-migration")``).
"""
