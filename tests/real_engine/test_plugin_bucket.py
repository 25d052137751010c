"""The project's export bucket (``migrator.program.export_bucket``) through the plugin, on an explicit
provider pointed at moto by its ``endpoints``: every setting really applied, and what the TLS-only
policy then does to plain-HTTP S3 calls on moto.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

PROGRAM = """
import pulumi
import pulumi_aws as aws
from migrator.program.export_bucket import export_bucket

endpoint = pulumi.Config().require("endpoint")
provider = aws.Provider(
    "endpoint",
    region="us-east-1",
    skip_credentials_validation=True,
    skip_requesting_account_id=True,
    skip_metadata_api_check=True,
    s3_use_path_style=True,
    endpoints=[aws.ProviderEndpointArgs(s3=endpoint, sts=endpoint)],
)
bucket = export_bucket("exports", pulumi.ResourceOptions(provider=provider))
pulumi.export("bucket", bucket.id)
"""


@pytest.fixture(scope="module")
def exports(real_engine: RealEngine) -> Project:
    """The export bucket and its settings, created."""
    project = real_engine.project("buckets", PROGRAM, config={"endpoint": real_engine.endpoint})
    project.up()
    return project


def bucket_name(project: Project) -> str:
    """The bucket's autonamed name, as the stack exports it."""
    return str(project.stack.outputs()["bucket"].value)


def test_every_setting_of_the_export_bucket_is_applied_in_moto(real_engine: RealEngine, exports: Project) -> None:
    s3 = real_engine.client("s3")
    name = bucket_name(exports)
    assert name.startswith("exports-")  # autonamed, lower case, as pulumi-aws names buckets
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4, block
    rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    sse = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    statement = policy["Statement"][0]
    assert (statement["Effect"], statement["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    # and what Read reports of them matches the program: nothing left to change
    assert exports.preview() == {}


def test_the_tls_only_policy_makes_moto_refuse_plain_http_object_calls(
    real_engine: RealEngine, exports: Project
) -> None:
    # Given the bucket with its TLS-only Deny, on moto, which is plain HTTP and knows no aws:SecureTransport
    s3 = real_engine.client("s3")
    name = bucket_name(exports)

    # then every object call is denied (moto evaluates the Deny's condition as met), as AWS would deny a
    # call without TLS: a migration on moto cannot write its export to a bucket declared this way.
    for call in (
        lambda: s3.put_object(Bucket=name, Key="data/x.json.gz", Body=b"x"),
        lambda: s3.get_object(Bucket=name, Key="data/x.json.gz"),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # while bucket-level calls pass: moto checks a bucket policy on object operations only.
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
