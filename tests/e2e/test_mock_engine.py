"""The engine double itself: the program's declaration applied to moto, diffed like the engine does."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from migrator.core.errors import PulumiError
from tests.conftest import Moto
from tests.e2e.conftest import LEGACY, NEW, moto_snapshot, scan_all, seed_legacy, table_names
from tests.e2e.mock_engine import MockEngineStack

DATA_PREFIX = "transformed/e2e/MyNewTable/data/"


def _stage_2_by_hand(engine: MockEngineStack, moto: Moto, items: int = 3) -> str:
    """Stages 0-2 without the migrator: an import source written by hand; returns the bucket."""
    engine.up()
    engine.set_config({"stage": "1"})
    bucket = engine.up()["exportBucket"]
    lines = [json.dumps({"Item": {"UUID": {"S": f"u{i}"}, "Name": {"S": f"n{i}"}}}) for i in range(items)]
    moto.s3.put_object(Bucket=bucket, Key=DATA_PREFIX + "part-0.json.gz", Body=gzip.compress("\n".join(lines).encode()))
    source = {"bucket": bucket, "keyPrefix": DATA_PREFIX, "compression": "GZIP", "itemCount": items}
    engine.set_config({"stage": "2", "importSource": source})
    engine.up()
    return bucket


def _state(engine: MockEngineStack, name: str) -> Any:
    return next(r for r in engine.resources() if r.name == name)


def test_stage_0_creates_the_legacy_table_as_the_program_declares_it(engine: MockEngineStack, moto: Moto) -> None:
    # Given the example config at stage 0, when the double applies it
    outputs = engine.up()

    # then the legacy table is in moto with deletion protection and TTL, without PITR yet,
    desc = moto.dynamodb.describe_table(TableName=LEGACY)["Table"]
    assert desc["KeySchema"] == [{"AttributeName": "Name", "KeyType": "HASH"}]
    assert desc["DeletionProtectionEnabled"] is True
    ttl = moto.dynamodb.describe_time_to_live(TableName=LEGACY)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ExpiresAt")
    assert moto_snapshot(moto)["tables"][LEGACY]["pitr"] == "DISABLED"
    # protected and retained in state, and the outputs name it.
    legacy = _state(engine, "table-legacy")
    assert (legacy.protect, legacy.retain_on_delete, legacy.physical_id) == (True, True, LEGACY)
    assert outputs["activeTableName"] == LEGACY and outputs["stage"] in (0, "0")
    assert engine.preview().changes == ()


def test_stage_2_imports_the_new_table_from_the_recorded_source(engine: MockEngineStack, moto: Moto) -> None:
    # Given an import source in the export bucket, when stage 2 is applied
    _stage_2_by_hand(engine, moto, items=3)

    # then the new table holds the imported items, with PITR on and no deletion protection (not live yet).
    assert sorted(i["UUID"]["S"] for i in scan_all(moto.dynamodb, NEW)) == ["u0", "u1", "u2"]
    snapshot = moto_snapshot(moto)["tables"][NEW]
    assert (snapshot["pitr"], snapshot["deletionProtection"]) == ("ENABLED", False)
    assert engine.outputs()["newTableName"] == NEW


def test_a_new_key_for_an_existing_table_previews_a_replace(engine: MockEngineStack, moto: Moto) -> None:
    # Given stage 2 applied, when newTable's partition key changes
    _stage_2_by_hand(engine, moto)
    engine.set_config({"newTable": {"name": NEW, "partitionKey": {"name": "Id", "type": "S"}}})

    # then the preview replaces the new table because of hashKey,
    (change,) = [c for c in engine.preview().changes if c.name == "table-new"]
    assert (change.op, change.physical_id) == ("replace", NEW)
    assert "hashKey" in change.replace_keys


def test_a_changed_import_source_is_ignored_like_the_program_asks(engine: MockEngineStack, moto: Moto) -> None:
    # Given stage 2 applied, when importSource changes (ignore_changes=["importTable"])
    bucket = _stage_2_by_hand(engine, moto)
    engine.set_config({"importSource": {"bucket": bucket, "keyPrefix": "elsewhere/data/", "itemCount": 9}})

    # then the preview shows no change for the table.
    assert [c for c in engine.preview().changes if c.name == "table-new"] == []


def test_a_protected_table_is_not_dropped_and_not_even_previewed(engine: MockEngineStack, moto: Moto) -> None:
    # Given stage 2 applied (legacy protected in state) and a seeded legacy table
    _stage_2_by_hand(engine, moto)
    seed_legacy(moto.dynamodb, 5)
    state = dict(engine.state)
    # when the program stops declaring the legacy table (stage 4) while the state still protects it,
    # then the engine refuses the preview as well as the update, and nothing changes.
    engine.set_config({"stage": "4"})
    with pytest.raises(PulumiError, match="cannot be deleted because it is protected"):
        engine.preview()
    with pytest.raises(PulumiError, match="cannot be deleted because it is protected"):
        engine.up()
    assert engine.state == state

    # Only an update at stage 3, which declares it unprotected, lets stage 4 retain it: out of the
    # stack, still in AWS, deletion-protected there.
    engine.set_config({"stage": "3"})
    engine.up()
    assert _state(engine, "table-legacy").protect is False
    engine.set_config({"stage": "4"})
    (change,) = [c for c in engine.preview().changes if c.name == "table-legacy"]
    assert (change.op, change.retain_on_delete) == ("delete", True)
    engine.up()
    assert "table-legacy" not in {r.name for r in engine.resources()}
    assert moto_snapshot(moto)["tables"][LEGACY] == {
        "items": 5,
        "keys": [{"AttributeName": "Name", "KeyType": "HASH"}],
        "deletionProtection": True,
        "pitr": "ENABLED",
    }


def test_a_protected_table_may_be_unprotected_and_replaced_in_one_update(engine: MockEngineStack, moto: Moto) -> None:
    # The engine checks a replace against the old state *and* the new declaration (step_generator.go).
    _stage_2_by_hand(engine, moto)
    engine.set_config({"stage": "3"})
    engine.up()  # the new table is protected from cutover
    engine.set_config({"newTable": {"name": NEW, "partitionKey": {"name": "Id", "type": "S"}}})
    with pytest.raises(PulumiError, match="currently marked for protection"):
        engine.preview()


def test_an_unprotected_table_that_leaves_the_program_is_deleted(engine: MockEngineStack, moto: Moto) -> None:
    # Given stage 2 applied (the new table neither protected nor retained)
    _stage_2_by_hand(engine, moto)
    assert NEW in table_names(moto.dynamodb)

    # when the program goes back to stage 1
    engine.set_config({"stage": "1"})
    preview = [c for c in engine.preview().changes if c.name == "table-new"]
    engine.up()

    # then the preview said delete (no retain), and the table is gone from moto and from state.
    assert [(c.op, c.retain_on_delete) for c in preview] == [("delete", False)]
    assert NEW not in table_names(moto.dynamodb)
    assert "table-new" not in {r.name for r in engine.resources()}
