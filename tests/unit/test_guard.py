"""The preview guard: which table deletes and replacements it refuses, and what it says."""

from __future__ import annotations

import re

import pytest

from migrator.core.errors import GuardError
from migrator.core.guard import (
    TABLE_TYPE,
    AllowedChange,
    PlannedChange,
    Preview,
    check_preview,
    refused_changes,
)

STACK = "urn:pulumi:dev::table-migration::"
COMPONENT = "table-migration:index:MigratingTable$"


def table(name: str, op: str, *, physical: str, retain: bool = False, keys: tuple[str, ...] = ()) -> PlannedChange:
    return PlannedChange(
        urn=f"{STACK}{COMPONENT}{TABLE_TYPE}::{name}",
        type=TABLE_TYPE,
        name=name,
        op=op,
        retain_on_delete=retain,
        physical_id=physical,
        replace_keys=keys,
    )


def replacement(name: str, physical: str, keys: tuple[str, ...]) -> list[PlannedChange]:
    """The three steps the engine reports for a create-before-delete replacement."""
    return [
        table(name, "create-replacement", physical=physical, keys=keys),
        table(name, "replace", physical=physical, keys=keys),
        table(name, "delete-replaced", physical=physical),
    ]


def test_replacing_a_table_is_refused_and_the_message_names_table_op_and_fix() -> None:
    # given: a key schema change on the new table after it was imported (stage 3)
    preview = Preview(changes=tuple(replacement("new", "MyNewTable", ("hashKey", "attributes"))), counts={"replace": 1})

    # when / then
    with pytest.raises(GuardError) as caught:
        check_preview(preview, allowed=[], stage="stage 3 (cutover)")
    text = str(caught.value)
    assert "stage 3 (cutover) does not plan to replace DynamoDB table MyNewTable (resource 'new')" in text
    assert "hashKey" in text
    assert "revert that change in the stack config" in text
    assert "Nothing was changed" in text


def test_a_replacement_is_reported_once_per_table() -> None:
    preview = Preview(changes=tuple(replacement("new", "MyNewTable", ("hashKey",))))

    refused = refused_changes(preview)

    assert [(c.name, c.kind) for c in refused] == [("new", "replace")]


def test_an_import_table_change_gets_the_ignore_changes_hint() -> None:
    preview = Preview(changes=tuple(replacement("new", "MyNewTable", ("importTable",))))

    with pytest.raises(GuardError) as caught:
        check_preview(preview)

    assert "ignore_changes=['importTable']" in caught.value.hint


def test_a_planned_replace_is_allowed() -> None:
    preview = Preview(changes=tuple(replacement("new", "MyNewTable", ("hashKey",))))

    check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "new", "replace")])


def test_a_planned_delete_is_allowed() -> None:
    # given: a stage that plans to delete the new table for real (e.g. going back before it held data)
    preview = Preview(changes=(table("new", "delete", physical="MyNewTable"),))

    check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "new", "delete")])


def test_retaining_the_legacy_table_is_allowed_when_the_stage_plans_it() -> None:
    # given: stage 4 drops the legacy table from the program; its state has retainOnDelete
    preview = Preview(changes=(table("legacy", "delete", physical="MyTable", retain=True),))

    check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")])


def test_a_real_delete_of_the_legacy_table_is_refused_when_only_a_retain_is_planned() -> None:
    # given: the same delete, but the state lacks retainOnDelete: AWS would lose the table
    preview = Preview(changes=(table("legacy", "delete", physical="MyTable", retain=False),))

    with pytest.raises(GuardError) as caught:
        check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")], stage="stage 4 (retire)")

    text = str(caught.value)
    assert "does not plan to delete DynamoDB table MyTable (resource 'legacy')" in text
    assert "retainOnDelete is not set" in text


def test_an_unplanned_retain_is_refused() -> None:
    preview = Preview(changes=(table("legacy", "delete", physical="MyTable", retain=True),))

    with pytest.raises(GuardError) as caught:
        check_preview(preview, allowed=[], stage="stage 2 (dual)")

    assert "does not plan to drop DynamoDB table MyTable (resource 'legacy') from the stack" in str(caught.value)
    assert "only stage 4 (retire)" in caught.value.hint


def test_an_allowance_for_one_table_does_not_cover_the_other() -> None:
    preview = Preview(
        changes=(
            table("legacy", "delete", physical="MyTable", retain=True),
            table("new", "delete", physical="MyNewTable"),
        )
    )

    refused = refused_changes(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")])

    assert [c.name for c in refused] == ["new"]


def test_replacements_of_other_resource_types_are_ignored() -> None:
    # given: the consumer's function and role are replaced, a table is only updated
    preview = Preview(
        changes=(
            PlannedChange(
                f"{STACK}aws:lambda/function:Function::hello-world",
                "aws:lambda/function:Function",
                "hello-world",
                "replace",
            ),
            PlannedChange(
                f"{STACK}aws:iam/role:Role::hello-world-role", "aws:iam/role:Role", "hello-world-role", "delete"
            ),
            table("legacy", "update", physical="MyTable"),
            table("new", "create", physical="MyNewTable"),
        )
    )

    check_preview(preview, allowed=[])


def test_every_replace_family_op_counts_as_replace() -> None:
    for op in ("discard-replaced", "import-replacement", "remove-pending-replace"):
        preview = Preview(changes=(table("new", op, physical="MyNewTable"),))
        with pytest.raises(GuardError):
            check_preview(preview)


def test_an_unknown_allowance_op_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="op must be one of"):
        AllowedChange(TABLE_TYPE, "new", "update")


def test_summary_text_counts_and_lists_each_resource_once() -> None:
    preview = Preview(
        changes=(
            *replacement("new", "MyNewTable", ("hashKey",)),
            table("legacy", "delete", physical="MyTable", retain=True),
            PlannedChange(
                f"{STACK}aws:lambda/function:Function::hello-world",
                "aws:lambda/function:Function",
                "hello-world",
                "update",
            ),
        ),
        counts={"replace": 1, "delete": 1, "update": 1, "same": 4},
    )

    text = preview.summary_text()

    lines = text.splitlines()
    assert lines[0] == "Preview: 1 to update, 1 to replace, 1 to delete, 4 unchanged"
    assert len(lines) == 4
    assert "replace" in lines[1] and "MyNewTable (resource 'new')" in lines[1] and "hashKey" in lines[1]
    assert "delete[retain]" in lines[2] and "MyTable" in lines[2]
    assert "update" in lines[3] and "'hello-world'" in lines[3]


def test_summary_text_without_engine_counts_counts_the_steps() -> None:
    preview = Preview(changes=(*replacement("new", "MyNewTable", ()), table("legacy", "update", physical="MyTable")))

    assert preview.summary_text().splitlines()[0] == "Preview: 1 to update, 1 to replace"
    assert Preview().summary_text() == "Preview: no changes"


def test_to_dict_is_plain_json() -> None:
    preview = Preview(changes=(table("legacy", "delete", physical="MyTable", retain=True),), counts={"delete": 1})

    data = preview.to_dict()

    assert data["counts"] == {"delete": 1}
    assert data["changes"][0]["kind"] == "retain"
    assert data["changes"][0]["physicalId"] == "MyTable"


@pytest.mark.parametrize(
    ("counts", "says"),
    [({"delete": 2}, "2 to delete (events for 1)"), ({"replace": 1, "delete": 1}, "1 to replace (events for 0)")],
)
def test_the_guard_fails_closed_when_the_summary_counts_more_than_the_events(counts: dict, says: str) -> None:
    # Given a preview that kept one (allowed) retain, but whose summary counts more destructive steps
    preview = Preview(changes=(table("legacy", "delete", physical="MyTable", retain=True),), counts=counts)

    # then the guard refuses, whatever the stage allows.
    with pytest.raises(GuardError, match=re.escape(says)):
        check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")], stage="stage 4")


def test_a_summary_that_matches_the_events_passes() -> None:
    steps = (
        *replacement("orders-new", "Spare", ("hashKey",)),
        table("orders-legacy", "delete", physical="MyTable", retain=True),
    )
    preview = Preview(changes=steps, counts={"replace": 1, "delete": 1, "same": 4})

    check_preview(
        preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain"), AllowedChange(TABLE_TYPE, "new", "replace")]
    )


def user_table(name: str, op: str, *, physical: str, retain: bool = False, parent: str = "") -> PlannedChange:
    """A table of the user's own program: top level, or under a component of theirs (``parent``: its type)."""
    return PlannedChange(
        urn=f"{STACK}{parent}{'$' if parent else ''}{TABLE_TYPE}::{name}",
        type=TABLE_TYPE,
        name=name,
        op=op,
        retain_on_delete=retain,
        physical_id=physical,
    )


@pytest.mark.parametrize(
    ("change", "allowance"),
    [
        (user_table("legacy", "delete", physical="Audit", retain=True), AllowedChange(TABLE_TYPE, "legacy", "retain")),
        (user_table("new", "delete", physical="Scratch"), AllowedChange(TABLE_TYPE, "new", "delete")),
        (user_table("orders-new", "delete", physical="OrdersCopy"), AllowedChange(TABLE_TYPE, "new", "delete")),
        (
            user_table("orders-legacy", "delete", physical="Old", retain=True, parent="shop:index:Store"),
            AllowedChange(TABLE_TYPE, "legacy", "retain"),
        ),
    ],
)
def test_a_user_s_table_named_like_ours_is_never_allowed_to_go(change: PlannedChange, allowance: AllowedChange) -> None:
    # Given a preview that drops a table of the user's own program whose name looks like one of ours,
    preview = Preview(changes=(change,), counts={"delete": 1})

    # then the allowance for the migration's table does not cover it: the guard refuses, naming it.
    with pytest.raises(GuardError, match=re.escape(change.physical_id or "")):
        check_preview(preview, allowed=[allowance], stage="stage 4 (retire)")


@pytest.mark.parametrize("name", ["legacy", "orders-legacy", "table-legacy"])
def test_the_migration_s_legacy_table_is_found_by_its_place_under_the_component(name: str) -> None:
    preview = Preview(changes=(table(name, "delete", physical="MyTable", retain=True),), counts={"delete": 1})

    check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")])
