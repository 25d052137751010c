"""A table created by ImportTable from S3 through the plugin, on the real engine: the plugin really
starts moto's import and waits for it, then applies what ImportTable cannot take (stream, tags, TTL,
point-in-time recovery) as pulumi-aws does; a failed import fails the update and leaves no resource.
"""

from __future__ import annotations

import gzip
import json

import pytest
from pulumi import automation as auto

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

SOURCE_BUCKET = "import-source"
ITEMS = 25

PROGRAM = """
import pulumi
import pulumi_aws as aws

aws.dynamodb.Table(
    "copy",
    name="%s",
    hash_key="Id",
    attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
    billing_mode="PAY_PER_REQUEST",
    import_table=aws.dynamodb.TableImportTableArgs(
        input_format="DYNAMODB_JSON",
        input_compression_type="GZIP",
        s3_bucket_source=aws.dynamodb.TableImportTableS3BucketSourceArgs(bucket="%s", key_prefix="export/data/"),
    ),
    stream_enabled=True,
    stream_view_type="NEW_AND_OLD_IMAGES",
    tags={"copy": "yes"},
    ttl=aws.dynamodb.TableTtlArgs(attribute_name="ExpiresAt", enabled=True),
    point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
    opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="2m")),
)
"""


@pytest.fixture(scope="module")
def copies(real_engine: RealEngine) -> Project:
    """An export in DynamoDB JSON (gzip) in a plain bucket, and a stack to import it with."""
    s3 = real_engine.client("s3")
    s3.create_bucket(Bucket=SOURCE_BUCKET)
    lines = "".join(json.dumps({"Item": {"Id": {"S": f"item-{i}"}, "N": {"N": str(i)}}}) + "\n" for i in range(ITEMS))
    s3.put_object(Bucket=SOURCE_BUCKET, Key="export/data/part-0.json.gz", Body=gzip.compress(lines.encode()))
    return real_engine.project("import-table", PROGRAM % ("Copied", SOURCE_BUCKET))


def test_an_imported_table_holds_the_items_and_gets_what_import_table_cannot_set(
    real_engine: RealEngine, copies: Project
) -> None:
    # Given the export, when the update creates the table by ImportTable
    copies.up()

    # then every item is in it, and so are the settings the provider applies after the import
    client = real_engine.client("dynamodb")
    assert client.scan(TableName="Copied", Select="COUNT")["Count"] == ITEMS
    table = client.describe_table(TableName="Copied")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"] == [{"Key": "copy", "Value": "yes"}]
    assert client.describe_time_to_live(TableName="Copied")["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    # and the state matches the declaration (importTable is kept from the inputs: AWS cannot report it)
    assert copies.preview() == {}


def test_a_failed_import_fails_the_update_and_records_nothing(real_engine: RealEngine, copies: Project) -> None:
    # Given a second table importing from a bucket that does not exist
    program = PROGRAM % ("Copied", SOURCE_BUCKET) + (PROGRAM % ("Broken", "no-such-bucket")).replace(
        '"copy"', '"broken"', 1
    )
    # when the update runs, moto's import fails, and so does the update, with the import's failure
    with pytest.raises(auto.CommandError, match="S3NoSuchBucket"):
        copies.up(program)
    # and the state has no table that does not exist.
    assert not any(r["urn"].endswith("::broken") for r in copies.state())
