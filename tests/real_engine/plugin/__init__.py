"""A ``pulumi-resource-aws`` of the project's own: the provider gRPC protocol served over moto.

It stands in for pulumi-aws 7.51.1 (a Terraform-bridged provider) in the real-engine test tier: the
engine runs it as the aws plugin, and it applies every resource to a moto server with boto3.
"""
