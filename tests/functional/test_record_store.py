"""The migrator's record store on DynamoDB (a moto server over HTTP): shared entries, a true conditional lock."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.core.memory_store import MemoryRecordStore
from migrator.core.ports import CHECKPOINTS, LOCK, PROGRESS, RecordStore
from migrator.data.record_table import DEFAULT_TABLE, DynamoRecordStore
from tests.conftest import Moto


@pytest.fixture(params=["dynamodb", "memory"])
def stores(request: pytest.FixtureRequest, moto: Moto) -> tuple[RecordStore, RecordStore]:
    """Two stores of the same stack, as two machines open them (or one shared in-memory store)."""
    if request.param == "memory":
        shared = MemoryRecordStore()
        return shared, shared
    return (
        DynamoRecordStore(moto.settings, scope="table-migration/dev"),
        DynamoRecordStore(moto.settings, scope="table-migration/dev"),
    )


def test_reading_before_anything_was_written_creates_nothing(moto: Moto) -> None:
    store = DynamoRecordStore(moto.settings, scope="table-migration/dev")

    assert store.load(PROGRESS) is None and store.load(LOCK) is None
    assert DEFAULT_TABLE not in moto.dynamodb.list_tables()["TableNames"]


def test_the_first_write_creates_a_protected_table(moto: Moto) -> None:
    DynamoRecordStore(moto.settings, scope="table-migration/dev").save(PROGRESS, {"completedStage": 0})

    table = moto.dynamodb.describe_table(TableName=DEFAULT_TABLE)["Table"]
    assert table["DeletionProtectionEnabled"] is True
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    backups = moto.dynamodb.describe_continuous_backups(TableName=DEFAULT_TABLE)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_two_machines_see_one_record(stores: tuple[RecordStore, RecordStore]) -> None:
    one, two = stores
    one.save(PROGRESS, {"completedStage": 2, "exportArn": "arn:export/1"})

    assert two.load(PROGRESS) == {"completedStage": 2, "exportArn": "arn:export/1"}
    assert two.load(CHECKPOINTS) is None


def test_the_lock_is_a_compare_and_swap(stores: tuple[RecordStore, RecordStore]) -> None:
    one, two = stores
    # only one of two writers that both saw no lock gets it
    assert one.put_if(LOCK, {"host": "a", "token": "t1"}, current_token=None) is True
    assert two.put_if(LOCK, {"host": "b", "token": "t2"}, current_token=None) is False
    assert two.load(LOCK) == {"host": "a", "token": "t1"}
    # a takeover names the token it replaces; a stale view of it fails
    assert two.put_if(LOCK, {"host": "b", "token": "t2"}, current_token="t0") is False
    assert two.put_if(LOCK, {"host": "b", "token": "t2"}, current_token="t1") is True
    # a release only removes the lock it owns
    assert one.delete_if(LOCK, token="t1") is False and one.load(LOCK) == {"host": "b", "token": "t2"}
    assert two.delete_if(LOCK, token="t2") is True and one.load(LOCK) is None


def test_stacks_do_not_share_records(moto: Moto) -> None:
    dev = DynamoRecordStore(moto.settings, scope="table-migration/dev")
    prod = DynamoRecordStore(moto.settings, scope="table-migration/prod")
    other_project = DynamoRecordStore(moto.settings, scope="other/dev")
    dev.save(PROGRESS, {"completedStage": 3})

    assert prod.load(PROGRESS) is None and other_project.load(PROGRESS) is None


def test_a_checkpoint_is_one_small_write_that_leaves_the_progress_record_alone(moto: Moto) -> None:
    # Given a store whose requests are counted
    store = DynamoRecordStore(moto.settings, scope="table-migration/dev")
    store.save(PROGRESS, {"completedStage": 2, "report": {"big": "x" * 1000}})
    calls: list[str] = []
    store._dynamodb().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))

    # when stream checkpoints are saved as often as a replay would (here 20 times)
    for second in range(20):
        store.save(CHECKPOINTS, {"shard-0001": f"seq-{second}", "at": second})

    # then each save is exactly one PutItem, and the progress record is untouched.
    assert calls == ["PutItem"] * 20
    assert store.load(CHECKPOINTS) == {"shard-0001": "seq-19", "at": 19}
    assert store.load(PROGRESS) == {"completedStage": 2, "report": {"big": "x" * 1000}}


def test_an_unknown_kind_is_refused(stores: Any) -> None:
    with pytest.raises(ValueError, match="unknown record kind"):
        stores[0].save("progres", {})
