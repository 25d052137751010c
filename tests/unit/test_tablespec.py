"""The whole table spec in config: every field, the newTable's inheritance, and every error naming key and fix."""

from __future__ import annotations

import json

import pytest

from migrator.core.config import parse_config
from migrator.core.errors import ConfigError
from migrator.core.tablespec import (
    Billing,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    Projection,
    Sse,
    TableSpec,
    spec_to_config,
)

KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LEGACY = {
    "name": "Orders",
    "partitionKey": {"name": "Customer", "type": "S"},
    "sortKey": {"name": "Created", "type": "N"},
    "billing": {"mode": "PROVISIONED", "read": 10, "write": 5},
    "globalSecondaryIndexes": [
        {"name": "ByEmail", "partitionKey": {"name": "Email", "type": "S"}, "projection": "ALL"},
        {
            "name": "ByStatus",
            "partitionKey": {"name": "Status", "type": "S"},
            "sortKey": {"name": "Created", "type": "N"},
            "projection": {"include": ["Total", "Email"]},
            "read": 3,
            "write": 2,
        },
    ],
    "localSecondaryIndexes": [
        {"name": "ByTotal", "sortKey": {"name": "Total", "type": "N"}, "projection": "KEYS_ONLY"}
    ],
    "tableClass": "STANDARD_INFREQUENT_ACCESS",
    "sse": {"type": "KMS", "kmsKeyArn": KMS},
    "tags": {"team": "payments", "cost-center": 42},
    "ttlAttribute": "ExpiresAt",
    "stream": "NEW_IMAGE",
    "deletionProtection": False,
    "pointInTimeRecovery": True,
}
NEW = {
    "name": "OrdersV2",
    "partitionKey": {"name": "OrderId", "type": "S"},
    "sortKey": {"name": "Created", "type": "N"},
    "load": "write",
}


def values(stage: str = "1", **changes):
    base = {"stage": stage, "legacyTable": LEGACY, "newTable": NEW, "derive": {"OrderId": "uuid5(Customer)"}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def legacy_with(**fields):
    return {k: v for k, v in {**LEGACY, **fields}.items() if v is not None}


def new_with(**fields):
    return {k: v for k, v in {**NEW, **fields}.items() if v is not None}


def error(config) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    assert caught.value.exit_code == 2
    return caught.value


# --- what a good config gives ------------------------------------------------------------------


def test_every_field_of_the_legacy_table_is_typed():
    legacy = parse_config(values()).legacy
    assert legacy.billing == Billing("PROVISIONED", read=10, write=5)
    email, status = legacy.global_indexes
    # A provisioned table's index without its own capacity gets the table's.
    assert email == GlobalIndex("ByEmail", KeyAttribute("Email", "S"), None, Projection("ALL"), read=10, write=5)
    assert status == GlobalIndex(
        "ByStatus",
        KeyAttribute("Status", "S"),
        KeyAttribute("Created", "N"),
        Projection("INCLUDE", ("Total", "Email")),
        read=3,
        write=2,
    )
    assert legacy.local_indexes == (LocalIndex("ByTotal", KeyAttribute("Total", "N"), Projection("KEYS_ONLY")),)
    assert legacy.table_class == "STANDARD_INFREQUENT_ACCESS"
    assert legacy.sse == Sse(KMS)
    assert legacy.tag_map == {"team": "payments", "cost-center": "42"}
    assert legacy.ttl_attribute == "ExpiresAt"
    assert legacy.stream == "NEW_IMAGE"
    assert legacy.deletion_protection is False and legacy.point_in_time_recovery is True
    assert [a.name for a in legacy.attribute_definitions] == ["Customer", "Created", "Email", "Status", "Total"]


def test_new_table_inherits_every_field_it_leaves_out_except_name_and_keys():
    config = parse_config(values(online="false"))
    legacy, new = config.legacy, config.new
    assert new.name == "OrdersV2"
    assert new.key_attributes == (KeyAttribute("OrderId", "S"), KeyAttribute("Created", "N"))
    for field in ("billing", "global_indexes", "local_indexes", "table_class", "sse", "tags", "ttl_attribute"):
        assert getattr(new, field) == getattr(legacy, field), field
    assert new.stream == "NEW_IMAGE"  # offline: inherited as is
    assert new.load == "write"
    assert "globalSecondaryIndexes" in new.inherited and "load" not in new.inherited
    # The legacy table's live state is not the new table's: the migrator decides those.
    assert new.deletion_protection is None and new.point_in_time_recovery is None


def test_new_table_fields_override_and_empty_lists_drop():
    new = new_with(
        billing={"mode": "PAY_PER_REQUEST", "maxRead": 100},
        globalSecondaryIndexes=[],
        localSecondaryIndexes=[],
        tags={},
        sse=None,
        ttlAttribute=None,
        tableClass="STANDARD",
        load=None,
    )
    # A key present with null drops the inherited value; sse and ttlAttribute set to null.
    new = {**new, "sse": None, "ttlAttribute": None}
    spec = parse_config(values(newTable=new)).new
    assert spec.billing == Billing("PAY_PER_REQUEST", max_read=100)
    assert spec.global_indexes == () and spec.local_indexes == () and spec.tags == ()
    assert spec.sse is None and spec.ttl_attribute is None and spec.table_class == "STANDARD"
    assert spec.load == "import"
    assert {"globalSecondaryIndexes", "sse", "tags"}.isdisjoint(spec.inherited)


def test_inherited_index_capacity_is_dropped_on_an_on_demand_new_table():
    new = new_with(billing={"mode": "PAY_PER_REQUEST"})
    spec = parse_config(values(newTable=new)).new
    assert all(i.read is None and i.write is None for i in spec.global_indexes)


def test_an_index_may_be_keyed_on_a_derived_attribute():
    new = new_with(
        globalSecondaryIndexes=[{"name": "ByOrder", "partitionKey": {"name": "Ref", "type": "S"}, "projection": "ALL"}],
    )
    config = parse_config(
        values(newTable=new, derive={"OrderId": "uuid5(Customer)", "Ref": 'format("{Customer}#{Created}")'})
    )
    assert config.new.global_indexes[0].partition_key == KeyAttribute("Ref", "S")


@pytest.mark.parametrize(
    ("online", "stream"), [(None, "NEW_AND_OLD_IMAGES"), ("true", "NEW_AND_OLD_IMAGES"), ("false", "NEW_IMAGE")]
)
def test_online_mode_gives_the_new_table_a_new_and_old_images_stream(online, stream):
    assert parse_config(values(online=online)).new.stream == stream


def test_objects_as_json_text_and_booleans_as_text():
    legacy = {
        **LEGACY,
        "globalSecondaryIndexes": json.dumps(LEGACY["globalSecondaryIndexes"]),
        "deletionProtection": "true",
    }
    spec = parse_config({"legacyTable": json.dumps(legacy)}).legacy
    assert len(spec.global_indexes) == 2 and spec.deletion_protection is True


def test_spec_round_trips_through_its_config_object():
    legacy = parse_config(values()).legacy
    again = parse_config({"legacyTable": spec_to_config(legacy)}).legacy
    assert again == legacy


def test_defaults_of_a_bare_table():
    spec = parse_config({"legacyTable": {"name": "T12", "partitionKey": {"name": "K", "type": "S"}}}).legacy
    assert spec == TableSpec("T12", KeyAttribute("K", "S"))
    assert spec.billing.mode == "PAY_PER_REQUEST" and spec.load == "import" and spec.sse is None


# --- every error names its key and the fix -----------------------------------------------------

L = "table-migration:legacyTable"
N = "table-migration:newTable"
GSI = [{"name": "ByEmail", "partitionKey": {"name": "Email", "type": "S"}, "projection": "ALL"}]

CASES = [
    # billing
    (values(legacyTable=legacy_with(billing="fast")), f"{L}.billing", "PROVISIONED, read: 5"),
    (values(legacyTable=legacy_with(billing={"mode": "FREE"})), f"{L}.billing.mode", "PAY_PER_REQUEST"),
    (values(legacyTable=legacy_with(billing={"mode": "PROVISIONED", "read": 5})), f"{L}.billing.write", "write: 5"),
    (values(legacyTable=legacy_with(billing={"mode": "PROVISIONED", "read": 0, "write": 1})), f"{L}.billing.read", "5"),
    (
        values(legacyTable=legacy_with(billing={"mode": "PROVISIONED", "read": 1.5, "write": 1})),
        f"{L}.billing.read",
        "5",
    ),
    (
        values(legacyTable=legacy_with(billing={"mode": "PAY_PER_REQUEST", "read": 5})),
        f"{L}.billing.read",
        "mode, maxRead",
    ),
    (values(newTable=new_with(billing={"maxWrite": "lots"})), f"{N}.billing.maxWrite", "Example: 5"),
    # global secondary indexes
    (
        values(legacyTable=legacy_with(globalSecondaryIndexes={"name": "x"})),
        f"{L}.globalSecondaryIndexes",
        "[] for none",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[GSI[0], {**GSI[0], "name": "ByX", "projection": "SOME"}])),
        f"{N}.globalSecondaryIndexes[1].projection",
        "KEYS_ONLY or {include",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "projection": None}])),
        f"{N}.globalSecondaryIndexes[0].projection",
        "Use ALL",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "projection": "INCLUDE"}])),
        f"{N}.globalSecondaryIndexes[0].projection",
        "{include: [Attr",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "projection": {"include": []}}])),
        f"{N}.globalSecondaryIndexes[0].projection.include",
        "Example: {include: [Email]}",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "name": "ab"}])),
        f"{N}.globalSecondaryIndexes[0].name",
        "3-255",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "partitionKey": {"name": "Email", "type": "X"}}])),
        f"{N}.globalSecondaryIndexes[0].partitionKey.type",
        "S, N or B",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "partitionKey": None}])),
        f"{N}.globalSecondaryIndexes[0].partitionKey",
        "{name: Attr, type: S}",
    ),
    (
        values(newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "hashKey": "Email"}])),
        f"{N}.globalSecondaryIndexes[0].hashKey",
        "partitionKey",
    ),
    (
        values(newTable=new_with(billing={"mode": "PAY_PER_REQUEST"}, globalSecondaryIndexes=[{**GSI[0], "read": 5}])),
        f"{N}.globalSecondaryIndexes[0].read",
        "PROVISIONED",
    ),
    (values(newTable=new_with(globalSecondaryIndexes=[GSI[0], GSI[0]])), N, "name of its own"),
    # one type per attribute: a GSI key against the table key, and an inherited one against the new key
    (
        values(
            newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "partitionKey": {"name": "OrderId", "type": "N"}}])
        ),
        f"{N}.globalSecondaryIndexes[0].partitionKey.type",
        "same type everywhere",
    ),
    (
        values(newTable=new_with(partitionKey={"name": "Email", "type": "N"}), derive=None),
        f"{N}.globalSecondaryIndexes[0].partitionKey.type",
        "inherited from legacyTable",
    ),
    # local secondary indexes
    (
        values(legacyTable=legacy_with(localSecondaryIndexes=[{"name": "ByTotal", "projection": "ALL"}])),
        f"{L}.localSecondaryIndexes[0].sortKey",
        "{name: Attr, type: S}",
    ),
    (values(legacyTable=legacy_with(sortKey=None)), f"{L}.localSecondaryIndexes", "Add sortKey"),
    (
        values(
            legacyTable=legacy_with(
                localSecondaryIndexes=[
                    {"name": f"L{i}xx", "sortKey": {"name": f"A{i}", "type": "S"}, "projection": "ALL"}
                    for i in range(6)
                ]
            )
        ),
        f"{L}.localSecondaryIndexes",
        "Drop some",
    ),
    (values(newTable=new_with(sortKey=None)), f"{N}.localSecondaryIndexes", "newTable.localSecondaryIndexes: []"),
    # ImportTable cannot create local indexes
    (values(newTable=new_with(load=None)), f"{N}.load", "load: write"),
    (values(newTable=new_with(load="import")), f"{N}.load", "localSecondaryIndexes: []"),
    (values(newTable=new_with(load="copy")), f"{N}.load", "import (ImportTable"),
    (values(legacyTable=legacy_with(load="write")), f"{L}.load", "Move it to newTable"),
    # table class, sse, tags, ttl, stream, deletion protection, pitr, adopt
    (values(legacyTable=legacy_with(tableClass="GLACIER")), f"{L}.tableClass", "STANDARD"),
    (values(legacyTable=legacy_with(sse={"type": "AES256"})), f"{L}.sse.type", "{type: KMS}"),
    (values(legacyTable=legacy_with(sse={"type": "KMS", "kmsKeyArn": "my-key"})), f"{L}.sse.kmsKeyArn", "arn:aws:kms"),
    (values(legacyTable=legacy_with(sse="KMS")), f"{L}.sse", "AWS owned key"),
    (values(legacyTable=legacy_with(tags=["a"])), f"{L}.tags", "{team: payments}"),
    (values(legacyTable=legacy_with(tags={"aws:cloudformation": "x"})), f"{L}.tags.aws:cloudformation", "aws:"),
    (values(legacyTable=legacy_with(tags={"team": {"a": 1}})), f"{L}.tags.team", "256"),
    (values(legacyTable=legacy_with(ttlAttribute={"a": 1})), f"{L}.ttlAttribute", "Name the attribute"),
    (values(legacyTable=legacy_with(stream="ALL_IMAGES")), f"{L}.stream", "KEYS_ONLY"),
    (values(newTable=new_with(stream="KEYS_ONLY")), f"{N}.stream", "online: false"),
    (values(legacyTable=legacy_with(deletionProtection="maybe")), f"{L}.deletionProtection", "true or false"),
    (values(newTable=new_with(deletionProtection=True)), f"{N}.deletionProtection", "Remove it from newTable"),
    (values(legacyTable=legacy_with(pointInTimeRecovery=1)), f"{L}.pointInTimeRecovery", "true or false"),
    (values(newTable=new_with(pointInTimeRecovery=False)), f"{N}.pointInTimeRecovery", "Remove it from newTable"),
    (values(legacyTable=legacy_with(adopt="yes")), f"{L}.adopt", "true or false"),
    (values(newTable=new_with(adopt=True)), f"{N}.adopt", "Move it to legacyTable"),
    # a field that does not exist
    (values(legacyTable=legacy_with(globalSecondaryIndex=GSI)), f"{L}.globalSecondaryIndex", "spelling"),
    # derive into an index key of another type
    (
        values(
            newTable=new_with(globalSecondaryIndexes=[{**GSI[0], "partitionKey": {"name": "Ref", "type": "N"}}]),
            derive={"OrderId": "uuid5(Customer)", "Ref": "uuid5(Email)"},
        ),
        "table-migration:derive.Ref",
        "type S",
    ),
]


@pytest.mark.parametrize(
    ("config", "key", "fix"), CASES, ids=[c[1].split(":")[1] + f"-{i}" for i, c in enumerate(CASES)]
)
def test_bad_field_names_the_full_key_and_the_fix(config, key, fix):
    e = error(config)
    assert e.key == key
    assert str(e).startswith(f"Config {key}: ")
    assert fix in str(e)


def test_local_index_limit_message_explains_import_and_offers_write():
    e = error(values(newTable=new_with(load=None)))
    assert "ImportTable cannot create a table with local secondary indexes" in str(e)
    assert "inherited from legacyTable" in str(e) and "ByTotal" in str(e)


def test_too_many_projected_attributes():
    many = [f"A{i}" for i in range(101)]
    gsi = [{**GSI[0], "projection": {"include": many}}]
    e = error(values(legacyTable=legacy_with(globalSecondaryIndexes=gsi)))
    assert e.key == L and "100" in str(e)


# --- the same errors through the CLI: exit 2, the key and the fix on stderr, nothing changed ----------


@pytest.mark.parametrize(
    ("config", "key", "fix"), CASES, ids=[c[1].split(":")[1] + f"-{i}" for i, c in enumerate(CASES)]
)
def test_bad_field_through_the_cli_exits_2_naming_key_and_fix(config, key, fix, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import migrator.cli.stack as cli_stack
    from migrator.cli import app
    from tests.unit.test_migration import FakeStack

    stack = FakeStack({**config, "aws:region": "us-east-1"}, [])
    monkeypatch.setattr(cli_stack, "open_stack", lambda *a, **k: stack)
    before = json.dumps(stack.config, sort_keys=True)
    result = CliRunner().invoke(app, ["plan", "--stage", "1", "--work-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"Config {key}: " in result.stderr and fix in " ".join(result.stderr.split())
    assert "Traceback" not in result.output + result.stderr
    assert json.dumps(stack.config, sort_keys=True) == before
