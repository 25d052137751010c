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
    effective_kind,
    refused_changes,
    unseen_changes,
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


def allowed_outright(preview: Preview, allowance: AllowedChange) -> None:
    """Assert the guard's decision is "allowed", for the one allowance's own reason: without it, refused."""
    (change,) = preview.table_changes()
    assert allowance.allows(change) is True
    assert refused_changes(preview, allowed=[allowance]) == []
    assert check_preview(preview, allowed=[allowance]) is None  # no GuardError
    assert refused_changes(preview, allowed=[]) == [change]


def test_a_planned_replace_is_allowed() -> None:
    preview = Preview(changes=tuple(replacement("new", "MyNewTable", ("hashKey",))))

    allowed_outright(preview, AllowedChange(TABLE_TYPE, "new", "replace"))


def test_an_engine_replace_op_names_a_replace_allowance_too() -> None:
    preview = Preview(changes=tuple(replacement("new", "MyNewTable", ("hashKey",))))

    allowed_outright(preview, AllowedChange(TABLE_TYPE, "new", "create-replacement"))


def test_a_planned_delete_is_allowed() -> None:
    # given: a stage that plans to delete the new table for real (e.g. going back before it held data)
    preview = Preview(changes=(table("new", "delete", physical="MyNewTable"),))

    allowed_outright(preview, AllowedChange(TABLE_TYPE, "new", "delete"))


def test_a_planned_delete_also_allows_keeping_the_table() -> None:
    # given: the new table's state has retainOnDelete: keeping it is never worse than deleting it
    preview = Preview(changes=(table("new", "delete", physical="MyNewTable", retain=True),))

    allowed_outright(preview, AllowedChange(TABLE_TYPE, "new", "delete"))


def test_retaining_the_legacy_table_is_allowed_when_the_stage_plans_it() -> None:
    # given: stage 4 drops the legacy table from the program; its state has retainOnDelete
    preview = Preview(changes=(table("legacy", "delete", physical="MyTable", retain=True),))

    allowed_outright(preview, AllowedChange(TABLE_TYPE, "legacy", "retain"))


@pytest.mark.parametrize(
    ("allowance", "change"),
    [
        ("retain", table("legacy", "delete", physical="MyTable", retain=False)),
        ("replace", table("new", "delete", physical="MyNewTable")),
        ("delete", table("new", "replace", physical="MyNewTable")),
        ("retain", table("legacy", "discard", physical="MyTable", retain=True)),
    ],
)
def test_an_allowance_covers_only_its_own_kind(allowance: str, change: PlannedChange) -> None:
    # A discard drops a resource from state whatever its retainOnDelete: it is a delete, not a retain.
    assert AllowedChange(TABLE_TYPE, change.name, allowance).allows(change) is False
    assert refused_changes(Preview((change,)), allowed=[AllowedChange(TABLE_TYPE, change.name, allowance)]) == [change]


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


@pytest.mark.parametrize(
    ("allowed_table", "other", "op", "retain"),
    [
        # `down --stage 1` may delete `new`; that must not let `legacy` be deleted with it.
        ("new", "legacy", "delete", False),
        ("legacy", "new", "delete", False),
        # stage 4 may drop `legacy` from the stack; that must not let `new` leave too.
        ("legacy", "new", "delete", True),
        ("new", "legacy", "replace", False),
    ],
)
def test_an_allowance_for_one_table_does_not_cover_the_same_change_to_the_other(
    allowed_table: str, other: str, op: str, retain: bool
) -> None:
    # given: the same kind of change to both tables, and an allowance for one of them
    physical = {"legacy": "MyTable", "new": "MyNewTable"}
    preview = Preview(
        changes=(
            table(allowed_table, op, physical=physical[allowed_table], retain=retain),
            table(other, op, physical=physical[other], retain=retain),
        )
    )
    allowance = AllowedChange(TABLE_TYPE, allowed_table, effective_kind(op, retain_on_delete=retain))

    # when / then: only the other table's change is refused, and the refusal names it
    refused = refused_changes(preview, allowed=[allowance])
    assert [(c.name, c.kind) for c in refused] == [(other, effective_kind(op, retain_on_delete=retain))]
    with pytest.raises(GuardError) as caught:
        check_preview(preview, allowed=[allowance])
    assert f"{physical[other]} (resource '{other}')" in str(caught.value)
    assert physical[allowed_table] + " " not in str(caught.value)


def test_an_allowance_for_another_resource_type_does_not_cover_a_table_of_the_same_name() -> None:
    change = table("legacy", "delete", physical="MyTable")
    bucket = AllowedChange("aws:s3/bucket:Bucket", "legacy", "delete")

    assert bucket.allows(change) is False
    assert refused_changes(Preview((change,)), allowed=[bucket]) == [change]


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

    # then: no table is deleted or replaced, so there is nothing to refuse
    assert preview.table_changes() == []
    assert refused_changes(preview, allowed=[]) == []
    assert check_preview(preview, allowed=[]) is None


def test_every_replace_family_op_counts_as_replace() -> None:
    for op in ("discard-replaced", "import-replacement", "read-replacement", "remove-pending-replace"):
        preview = Preview(changes=(table("new", op, physical="MyNewTable"),))
        with pytest.raises(GuardError):
            check_preview(preview)


def test_an_unknown_allowance_op_is_a_programming_error() -> None:
    with pytest.raises(ValueError) as caught:
        AllowedChange(TABLE_TYPE, "new", "update")
    assert str(caught.value) == "AllowedChange op must be one of replace, delete, retain, not 'update'"


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


# --- the refusal's exact words: what would happen, to which table, and what to do ---------------------

KEYS_HINT = (
    "A DynamoDB table's key schema and name cannot change in place: revert that change in the stack config "
    "(legacyTable/newTable); to change the keys again, migrate to another new table."
)
IMPORT_HINT = (
    "importTable must not change once the table exists: keep ignore_changes=['importTable'] on it and "
    "leave table-migration:importSource as the migrator wrote it."
)
REVERT_HINT = "Revert the program or stack config change that causes the replacement, then run `migrate plan` again."
RETAIN_HINT = (
    "Check table-migration:stage and the table names in the stack config: only stage 4 (retire) drops the "
    "legacy table from the stack."
)
DELETE_HINT = (
    "Put the table back in the program (check table-migration:stage and the table names in the stack config); "
    "a table that must leave the stack needs retainOnDelete first."
)


@pytest.mark.parametrize(
    ("change", "problem", "hint"),
    [
        (
            table("new", "replace", physical="MyNewTable", keys=("hashKey", "attributes")),
            "stage 3 (cutover) does not plan to replace DynamoDB table MyNewTable (resource 'new'), but the preview "
            "would (a change to hashKey, attributes forces it)",
            KEYS_HINT,
        ),
        (
            table("new", "replace", physical="MyNewTable", keys=("importTable",)),
            "stage 3 (cutover) does not plan to replace DynamoDB table MyNewTable (resource 'new'), but the preview "
            "would (a change to importTable forces it)",
            IMPORT_HINT,
        ),
        (
            table("new", "replace", physical="MyNewTable", keys=("billingMode",)),
            "stage 3 (cutover) does not plan to replace DynamoDB table MyNewTable (resource 'new'), but the preview "
            "would (a change to billingMode forces it)",
            REVERT_HINT,
        ),
        (
            table("new", "replace", physical="MyNewTable"),
            "stage 3 (cutover) does not plan to replace DynamoDB table MyNewTable (resource 'new'), but the preview "
            "would",
            REVERT_HINT,
        ),
        (
            table("legacy", "delete", physical="MyTable", retain=True),
            "stage 3 (cutover) does not plan to drop DynamoDB table MyTable (resource 'legacy') from the stack, but "
            "the preview would",
            RETAIN_HINT,
        ),
        (
            table("legacy", "discard", physical="MyTable", retain=True),
            "stage 3 (cutover) does not plan to delete DynamoDB table MyTable (resource 'legacy'), but the preview "
            "would (op discard; retainOnDelete is not set in its state, so its data would be lost)",
            DELETE_HINT,
        ),
    ],
)
def test_a_refusal_says_exactly_what_would_happen_and_what_to_do(
    change: PlannedChange, problem: str, hint: str
) -> None:
    with pytest.raises(GuardError) as caught:
        check_preview(Preview((change,)), stage="stage 3 (cutover)")

    assert caught.value.message == f"Refusing to update the stack: {problem}. Nothing was changed."
    assert caught.value.hint == hint
    assert caught.value.exit_code == 1


def test_several_refusals_are_listed_in_one_message_with_each_hint_once() -> None:
    # given: both tables replaced because of their keys and a third table deleted, none of it planned
    preview = Preview(
        changes=(
            table("legacy", "replace", physical="MyTable", keys=("hashKey",)),
            table("new", "replace", physical="MyNewTable", keys=("rangeKey",)),
            table("other", "delete", physical="Other"),
        )
    )

    with pytest.raises(GuardError) as caught:
        check_preview(preview)

    assert caught.value.message == (
        "Refusing to update the stack: "
        "this stage does not plan to replace DynamoDB table MyTable (resource 'legacy'), but the preview would "
        "(a change to hashKey forces it); "
        "this stage does not plan to replace DynamoDB table MyNewTable (resource 'new'), but the preview would "
        "(a change to rangeKey forces it); "
        "this stage does not plan to delete DynamoDB table Other (resource 'other'), but the preview would "
        "(op delete; retainOnDelete is not set in its state, so its data would be lost). Nothing was changed."
    )
    assert caught.value.hint == f"{KEYS_HINT} {DELETE_HINT}"


def test_a_table_without_a_known_cloud_name_is_named_by_its_resource_name() -> None:
    change = PlannedChange(f"{STACK}{TABLE_TYPE}::new", TABLE_TYPE, "new", "delete")
    assert change.label == "'new'"
    assert table("new", "delete", physical="new").label == "'new'"
    assert table("new", "delete", physical="MyNewTable").label == "MyNewTable (resource 'new')"


def test_planned_change_to_dict_uses_the_json_names() -> None:
    change = table("new", "create-replacement", physical="MyNewTable", keys=("hashKey", "attributes"))

    assert change.to_dict() == {
        "urn": f"{STACK}{COMPONENT}{TABLE_TYPE}::new",
        "type": TABLE_TYPE,
        "name": "new",
        "op": "create-replacement",
        "kind": "replace",
        "retainOnDelete": False,
        "physicalId": "MyNewTable",
        "replaceKeys": ["hashKey", "attributes"],
        "diffs": [],
    }


def test_the_summary_names_a_replacement_s_cause_even_when_a_later_step_carries_it() -> None:
    # given: the engine's replacement steps, only the second of which lists the properties that force it
    preview = Preview(
        changes=(
            table("new", "create-replacement", physical="MyNewTable"),
            table("new", "replace", physical="MyNewTable", keys=("hashKey", "attributes")),
            table("new", "delete-replaced", physical="MyNewTable"),
        )
    )

    (main,) = preview.table_changes()

    assert (main.op, main.replace_keys) == ("create-replacement", ("hashKey", "attributes"))
    assert preview.summary_text().splitlines()[1] == (
        f"  +- replace        {TABLE_TYPE}  MyNewTable (resource 'new')  (because of hashKey, attributes)"
    )


def test_only_a_replacement_borrows_the_keys_another_of_its_steps_reports() -> None:
    # given: a resource whose steps are a keyed update and a delete; the delete decides, as it was reported
    preview = Preview(
        changes=(
            table("old", "update", physical="Old", keys=("billingMode",)),
            table("old", "delete", physical="Old"),
        )
    )

    (main,) = preview.table_changes()

    assert main == table("old", "delete", physical="Old")


def test_the_summary_shows_each_kind_with_its_symbol() -> None:
    preview = Preview(
        changes=(
            table("a", "create", physical="A"),
            table("b", "update", physical="B", keys=("tags",)),
            table("c", "delete", physical="C"),
            table("d", "delete", physical="D", retain=True),
            table("e", "read-replacement", physical="E"),
            table("f", "discard-replaced", physical="F"),
            table("g", "update", physical="G"),
        )
    )

    assert preview.summary_text().splitlines() == [
        "Preview: 1 to create, 2 to update, 2 to replace, 2 to delete",
        f"  +  create         {TABLE_TYPE}  A (resource 'a')",
        f"  ~  update         {TABLE_TYPE}  B (resource 'b')",
        f"  -  delete         {TABLE_TYPE}  C (resource 'c')",
        f"  -  delete[retain] {TABLE_TYPE}  D (resource 'd')",
        f"  +- replace        {TABLE_TYPE}  E (resource 'e')",  # a read resource replaced is a replace too
        f"  +- replace        {TABLE_TYPE}  F (resource 'f')",
        f"  ~  update         {TABLE_TYPE}  G (resource 'g')",
    ]


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


def test_the_fail_closed_refusal_says_what_the_summary_counted_what_was_seen_and_what_to_do() -> None:
    # Given a summary that counts a delete and two replaces the guard has no event for
    preview = Preview(changes=(), counts={"delete": 1, "replace": 2})

    with pytest.raises(GuardError) as refused:
        check_preview(preview, stage="stage 3")

    assert refused.value.message == (
        "Refusing to update the stack: the preview of stage 3 counts 1 to delete (events for 0) and 2 to replace "
        "(events for 0), but the guard saw the resource events of fewer: an engine event was lost, so it cannot "
        "tell which resources would go. Nothing was changed."
    )
    assert (
        refused.value.hint == "Rerun; if it happens again, read `pulumi preview` of the stack by hand before going on."
    )


def test_each_resource_s_delete_or_replace_event_counts_once() -> None:
    # Given two retained deletes and two replacements, each with its events, and a summary that counts them
    steps = (
        table("a-legacy", "delete", physical="A", retain=True),
        table("b-legacy", "delete", physical="B", retain=True),
        *replacement("a-new", "A2", ("hashKey",)),
        *replacement("b-new", "B2", ("hashKey",)),
    )
    # then a summary of as many has nothing unseen, and one more of either is caught
    assert unseen_changes(Preview(changes=steps, counts={"delete": 2, "replace": 2})) is None
    assert unseen_changes(Preview(changes=steps, counts={"delete": 3, "replace": 2})) == "3 to delete (events for 2)"
    assert unseen_changes(Preview(changes=steps[:3], counts={"replace": 2})) == "2 to replace (events for 1)"
