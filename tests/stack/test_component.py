"""MigratingTable as a library component: its signature, children's names and aliases, legacy_opts, adoption."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from migrator.core.config import parse_config
from migrator.program import MigratingTable
from tests.stack.harness import Recorded, example_config, run_program

TABLE = "aws:dynamodb/table:Table"
COMPONENT = "table-migration:index:MigratingTable"


def program(build: Callable[[], Any]) -> Callable[[], None]:
    """A program of the user's own: ``build`` declares what it wants; its result is exported as ``out``."""

    def run() -> None:
        result = build()
        if result is not None:
            pulumi.export("out", result)

    return run


def aliases(recorded: Recorded, name: str) -> list[dict[str, Any]]:
    return list(recorded.one(name).aliases)


def test_config_none_reads_the_stack_config_and_children_are_named_from_the_component() -> None:
    # Given a program that declares MigratingTable("orders") without a config
    def build() -> Any:
        table = MigratingTable("orders")
        return {"active": table.active_table_name, "arns": table.table_arns, "stage": table.config.stage}

    recorded = run_program(example_config(), 2, program=program(build))

    # then it read the stack's table-migration config, and named every child after itself
    names = set(recorded.names())
    assert {"orders", "orders-legacy", "orders-new", "orders-export-bucket"} <= names
    assert {n for n in names if n.startswith("orders-export-bucket-")} == {
        "orders-export-bucket-public-access",
        "orders-export-bucket-ownership",
        "orders-export-bucket-encryption",
        "orders-export-bucket-tls-only",
    }
    assert not {"legacy", "new", "export-bucket"} & names
    assert recorded.outputs["out"]["active"] == "MyTable"
    assert recorded.outputs["out"]["stage"] == 2
    assert len(recorded.outputs["out"]["arns"]) == 2


def test_a_config_built_in_code_is_used_as_given() -> None:
    config = parse_config({**example_config(), "stage": "3"})

    recorded = run_program(
        {"aws:region": "us-east-1"},
        program=program(lambda: MigratingTable("orders", config).active_table_name),
    )

    assert recorded.outputs["out"] == "MyNewTable"
    assert recorded.one("orders-new").inputs["name"] == "MyNewTable"


@pytest.mark.parametrize(
    ("child", "old"),
    [
        ("orders-legacy", "legacy"),
        ("orders-new", "new"),
        ("orders-export-bucket", "export-bucket"),
        ("orders-export-bucket-public-access", "export-bucket-public-access"),
        ("orders-export-bucket-ownership", "export-bucket-ownership"),
        ("orders-export-bucket-encryption", "export-bucket-encryption"),
        ("orders-export-bucket-tls-only", "export-bucket-tls-only"),
    ],
)
def test_every_child_keeps_an_alias_of_its_name_before_the_rename(child: str, old: str) -> None:
    recorded = run_program(example_config(), 2, program=program(lambda: MigratingTable("orders")))

    # An alias spec with only the old name: same parent, same type (the engine fills in the rest).
    assert {"name": old, "type": "", "stack": "", "project": "", "parentUrn": "", "noParent": False} in aliases(
        recorded, child
    )


def test_legacy_aliases_name_the_table_s_place_before_the_component() -> None:
    def build() -> None:
        MigratingTable(
            "orders",
            legacy_aliases=[pulumi.Alias(name="orders", parent=pulumi.ROOT_STACK_RESOURCE), "urn:pulumi:x::y::t::z"],
        )

    found = aliases(run_program(example_config(), 0, program=program(build)), "orders-legacy")

    assert {"name": "orders", "type": "", "stack": "", "project": "", "parentUrn": "", "noParent": True} in found
    assert {"urn": "urn:pulumi:x::y::t::z"} in found
    assert {"name": "legacy", "type": "", "stack": "", "project": "", "parentUrn": "", "noParent": False} in found


@pytest.mark.parametrize("user_protect", [True, False])
def test_legacy_opts_pass_through_but_never_switch_off_the_migration_s_safety(
    monkeypatch: pytest.MonkeyPatch, user_protect: bool
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))

    def build() -> None:
        other = aws.dynamodb.Table("audit", name="Audit", hash_key="Id", attributes=[{"name": "Id", "type": "S"}])
        MigratingTable(
            "orders",
            legacy_opts=pulumi.ResourceOptions(
                protect=user_protect,
                retain_on_delete=False,
                import_="SomethingElse",
                parent=other,
                ignore_changes=["readCapacity", "writeCapacity"],
                custom_timeouts=pulumi.CustomTimeouts(update="2h"),
                aliases=[pulumi.Alias(name="older")],
            ),
        )

    # At stage 2 (legacy protected) and stage 3 (unprotected for stage 4), the migration decides.
    for stage, protect in ((2, True), (3, False)):
        legacy = run_program(example_config(), stage, program=program(build)).one("orders-legacy")
        assert (legacy.protect, legacy.retain_on_delete, legacy.import_id) == (protect, True, "")
        assert legacy.parent.endswith(f"{COMPONENT}::orders")
        # and what is the user's passes through
        assert legacy.ignore_changes == ("readCapacity", "writeCapacity")
        assert legacy.custom_timeouts == {"update": "2h"}
        assert {a.get("name") for a in legacy.aliases} >= {"older", "legacy"}
    assert warnings and all("protect, retain_on_delete, import_" in w and "parent" in w for w in warnings)


@pytest.mark.parametrize(("stage", "import_id"), [(0, "MyTable"), (1, ""), (2, "")])
def test_adopt_imports_the_live_table_at_stage_0_only(stage: int, import_id: str) -> None:
    config = example_config()
    config["legacyTable"] = {**config["legacyTable"], "adopt": True}

    legacy = run_program(config, stage).one("table-legacy")

    assert legacy.import_id == import_id
    assert legacy.protect and legacy.retain_on_delete  # an adopted table is kept like any legacy table


def test_without_adopt_nothing_is_imported() -> None:
    assert run_program(example_config(), 0).one("table-legacy").import_id == ""


def test_a_bad_stack_config_stops_before_the_component_registers_anything() -> None:
    config = {**example_config(), "legacyTable": {"name": "MyTable"}}

    with pytest.raises(Exception, match="partitionKey"):
        run_program(config, 0, program=program(lambda: MigratingTable("orders")))
