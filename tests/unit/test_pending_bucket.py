"""The export bucket's pending creates after an interrupted stage 1 (migrator/orchestrate/pending.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from migrator.core.errors import PulumiError
from migrator.core.ports import PendingCreate
from migrator.core.urns import is_export_bucket_setting
from migrator.orchestrate.pending import export_bucket_creates, remove_unused_bucket

COMPONENT = "table-migration:index:MigratingTable"
PREFIX = "urn:pulumi:dev::table-migration::"
BUCKET_URN = f"{PREFIX}{COMPONENT}$aws:s3/bucket:Bucket::table-export-bucket"
SETTING_URN = (
    f"{PREFIX}{COMPONENT}$aws:s3/bucket:Bucket$aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    "::table-export-bucket-public-access"
)
USERS_BUCKET_URN = f"{PREFIX}aws:s3/bucket:Bucket::table-export-bucket"
USERS_SETTING_URN = f"{PREFIX}aws:s3/bucket:Bucket$aws:s3/bucketPolicy:BucketPolicy::policy"
NEW_TABLE_URN = f"{PREFIX}{COMPONENT}$aws:dynamodb/table:Table::table-new"


def create(urn: str, name: str | None = "table-export-bucket-1a2b3c4") -> PendingCreate:
    return PendingCreate(urn, urn.split("::")[2].split("$")[-1], urn.rsplit("::", 1)[-1], name)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def test_only_the_migrations_export_bucket_and_its_settings_are_picked() -> None:
    pending = [create(u) for u in (BUCKET_URN, SETTING_URN, USERS_BUCKET_URN, USERS_SETTING_URN, NEW_TABLE_URN)]

    picked = export_bucket_creates(pending)

    assert [p.urn for p in picked] == [BUCKET_URN, SETTING_URN]
    assert is_export_bucket_setting(SETTING_URN) and not is_export_bucket_setting(USERS_SETTING_URN)
    assert not is_export_bucket_setting("not a urn")


def test_an_empty_bucket_the_dead_update_made_is_removed(s3: Any) -> None:
    s3.create_bucket(Bucket="table-export-bucket-1a2b3c4")
    said: list[str] = []

    remove_unused_bucket(s3, create(BUCKET_URN), "dev", said.append)

    assert s3.list_buckets()["Buckets"] == []
    assert "removing it" in said[0]


def test_a_bucket_that_was_never_made_is_left_to_be_created(s3: Any) -> None:
    said: list[str] = []

    remove_unused_bucket(s3, create(BUCKET_URN), "dev", said.append)

    assert "does not exist" in said[0]


def test_a_bucket_holding_objects_is_kept_and_refused(s3: Any) -> None:
    s3.create_bucket(Bucket="table-export-bucket-1a2b3c4")
    s3.put_object(Bucket="table-export-bucket-1a2b3c4", Key="someone/else.txt", Body=b"x")

    with pytest.raises(PulumiError, match="holds objects") as raised:
        remove_unused_bucket(s3, create(BUCKET_URN), "dev", lambda _m: None)

    assert "s3://table-export-bucket-1a2b3c4" in (raised.value.hint or "")
    assert len(s3.list_buckets()["Buckets"]) == 1


def test_a_setting_never_removes_the_bucket(s3: Any) -> None:
    s3.create_bucket(Bucket="table-export-bucket-1a2b3c4")

    remove_unused_bucket(s3, create(SETTING_URN), "dev", lambda _m: None)

    assert len(s3.list_buckets()["Buckets"]) == 1
