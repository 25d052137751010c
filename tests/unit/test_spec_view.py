"""``migrate plan``'s table spec comparison: the new table's effective spec beside the legacy one, field by field."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from migrator.cli import app
from migrator.core.config import parse_config
from migrator.report.spec_view import compare_specs, describe_spec
from tests.unit.test_cli_stack import runner, world  # noqa: F401 - fixtures
from tests.unit.test_migration import World

KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LEGACY = {
    "name": "Orders",
    "partitionKey": {"name": "Customer", "type": "S"},
    "sortKey": {"name": "Created", "type": "N"},
    "billing": {"mode": "PROVISIONED", "read": 10, "write": 5},
    "globalSecondaryIndexes": [
        {"name": "ByEmail", "partitionKey": {"name": "Email", "type": "S"}, "projection": "ALL"},
        {"name": "ByStatus", "partitionKey": {"name": "Status", "type": "S"}, "projection": "KEYS_ONLY"},
    ],
    "localSecondaryIndexes": [{"name": "ByTotal", "sortKey": {"name": "Total", "type": "N"}, "projection": "ALL"}],
    "sse": {"type": "KMS", "kmsKeyArn": KMS},
    "tags": {"team": "payments"},
    "ttlAttribute": "ExpiresAt",
    "deletionProtection": False,
}
NEW = {
    "name": "OrdersV2",
    "partitionKey": {"name": "OrderId", "type": "S"},
    "sortKey": {"name": "Created", "type": "N"},
    "globalSecondaryIndexes": [
        {"name": "ByEmail", "partitionKey": {"name": "Email", "type": "S"}, "projection": "ALL"},
        {"name": "ByRef", "partitionKey": {"name": "Ref", "type": "S"}, "projection": {"include": ["Total"]}},
    ],
    "localSecondaryIndexes": [],
    "tags": {"team": "payments", "migrated": "yes"},
}


def comparison(online: str = "true"):
    config = parse_config({"stage": "1", "legacyTable": LEGACY, "newTable": NEW, "online": online})
    return compare_specs(config.legacy, config.new)


def rows(result) -> dict:
    return {row.field: row for row in result.rows}


def test_every_field_is_compared_and_marked():
    result = rows(comparison())
    assert result["name"].change == "changed"
    assert (result["partitionKey"].legacy, result["partitionKey"].new) == ("Customer (S)", "OrderId (S)")
    assert result["partitionKey"].change == "changed"
    assert result["sortKey"].change == "same" and not result["sortKey"].inherited
    # inherited and unchanged
    for field in ("billing", "sse", "ttlAttribute", "tableClass"):
        assert result[field].change == "same" and result[field].inherited, field
    assert result["sse"].new == f"KMS {KMS}"
    # indexes: kept, dropped, added
    assert result["globalSecondaryIndexes[ByEmail]"].change == "same"
    assert result["globalSecondaryIndexes[ByStatus]"].change == "removed"
    assert result["globalSecondaryIndexes[ByRef]"].change == "added"
    assert result["globalSecondaryIndexes[ByRef]"].new == "Ref (S); INCLUDE Total; read 10, write 5"
    assert result["localSecondaryIndexes[ByTotal]"].change == "removed"
    assert result["tags"].change == "changed" and not result["tags"].inherited
    # the online mode's stream on the new table only
    assert (result["stream"].legacy, result["stream"].new, result["stream"].change) == (
        None,
        "NEW_AND_OLD_IMAGES",
        "added",
    )
    assert result["deletionProtection"].legacy == "off at stage 0, on from stage 1"
    assert result["load"].new == "ImportTable"


def test_offline_the_stream_is_inherited_as_it_is():
    assert rows(comparison(online="false"))["stream"].change == "same"


def test_text_marks_each_line_and_json_lists_the_changes():
    result = comparison()
    text = result.text()
    assert text.splitlines()[0].startswith("Table spec: Orders → OrdersV2")
    lines = {line.split()[1]: line for line in text.splitlines()[1:]}
    assert lines["partitionKey"].lstrip().startswith("~")
    assert lines["globalSecondaryIndexes[ByStatus]"].lstrip().startswith("-")
    assert lines["globalSecondaryIndexes[ByRef]"].lstrip().startswith("+")
    assert lines["billing"].lstrip().startswith("=") and lines["billing"].endswith("| (inherited)")
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert "globalSecondaryIndexes[ByRef]" in data["changed"] and "billing" not in data["changed"]


def test_no_new_table_no_comparison():
    config = parse_config({"legacyTable": LEGACY})
    assert compare_specs(config.legacy, config.new) is None


def test_describe_spec_names_every_field():
    lines = describe_spec(parse_config({"legacyTable": LEGACY}).legacy)
    assert "billing: provisioned, read 10, write 5" in lines
    assert "globalSecondaryIndexes[ByStatus]: Status (S); KEYS_ONLY; read 10, write 5" in lines
    assert "deletionProtection: off" in lines and "pointInTimeRecovery: not recorded" in lines


def test_plan_shows_the_spec_comparison_in_text_and_json(world: World, runner: CliRunner) -> None:  # noqa: F811
    world.stack.config["legacyTable"] = {**world.stack.config["legacyTable"], "tags": {"team": "a"}}
    text = runner.invoke(app, ["plan", "--stage", "1"])
    assert text.exit_code == 0, text.stderr
    assert "Table spec: MyTable → MyNewTable" in text.stdout
    assert "| (inherited)" in text.stdout
    result = runner.invoke(app, ["plan", "--stage", "1", "--json"])
    data = json.loads(result.stdout)
    fields = {f["field"]: f for f in data["spec"]["fields"]}
    assert fields["tags"] == {"field": "tags", "legacy": "team=a", "new": "team=a", "change": "same", "inherited": True}
    assert "partitionKey" in data["spec"]["changed"]
