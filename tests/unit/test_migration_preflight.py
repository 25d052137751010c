"""The config is checked for the *target* stage before anything changes (``up``), and ``plan`` says
"bad config" with exit 2 instead of a note. Keys the migrator writes on the way (importSource) are
not asked for."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.core.errors import EXIT_BAD_INPUT, ConfigError
from migrator.orchestrate.migration import Migration
from tests.unit.test_cli_stack import world as cli_world  # noqa: F401  (the CLI's world fixture)
from tests.unit.test_migration import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


BROKEN = {
    "newTable missing": (lambda c: c.pop("newTable"), "newTable"),
    "derive against the new key's type": (
        lambda c: c.update(newTable={"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "N"}}),
        "derive",
    ),
    "aws:region missing": (lambda c: c.pop("aws:region"), "aws:region"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_up_to_a_stage_whose_config_is_wrong_changes_nothing_not_even_stage_0(world: World, name: str) -> None:
    # Given a fresh stack whose config is fine for stage 0 but not for stage 1 and on
    breaks, key = BROKEN[name]
    breaks(world.stack.config)
    before = copy.deepcopy(world.stack.config)
    # When going to stage 1
    with pytest.raises(ConfigError) as caught:
        world.migration().up(1)
    # Then it is bad input naming the key, and nothing ran: no stage set, no preview, no update
    assert caught.value.exit_code == EXIT_BAD_INPUT and key in str(caught.value)
    assert world.events == [] and world.stack.config == before


def test_up_does_not_ask_for_the_import_source_the_migrator_records_on_the_way(world: World) -> None:
    # importSource is written by stage 1 and read by stage 2: going from 0 to 2 must not need it first
    assert "importSource" not in world.stack.config
    result = world.migration().up(2)
    assert result.stages_run == (0, 1, 2)


def test_plan_of_a_stage_with_a_config_error_is_bad_input_not_a_note(world: World) -> None:
    del world.stack.config["newTable"]
    before = copy.deepcopy(world.stack.config)
    with pytest.raises(ConfigError, match="newTable"):
        world.migration().plan(1)
    assert world.events == [] and world.stack.config == before


def test_plan_still_notes_a_stage_waiting_for_the_import_source(world: World) -> None:
    plan = world.migration().plan(3)
    assert plan.preview_stage == 1 and any("importSource" in note for note in plan.notes)


def test_cli_plan_with_a_config_error_exits_2(cli_world: Any) -> None:  # noqa: F811
    del cli_world.stack.config["newTable"]
    result = CliRunner().invoke(app, ["plan", "--stage", "1"])
    assert result.exit_code == 2, result.output
    assert "newTable" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("hook", ["nosuchmod_for_the_freeze:freeze", "json:nosuchfn"])
def test_a_freeze_hook_that_cannot_load_stops_up_before_stage_1_changes_anything(world: World, hook: str) -> None:
    # Given an online stack whose freezeHook cannot be used (the cutover calls it, two stages later)
    world.stack.config.update(online="true", freezeHook=hook)
    before = copy.deepcopy(world.stack.config)
    # When going to stage 1, or planning it
    for attempt in (lambda: world.migration().up(1), lambda: world.migration().plan(1)):
        with pytest.raises(ConfigError) as caught:
            attempt()
        # Then it is bad input naming the key, and nothing ran: no stage set, no preview, no export
        assert caught.value.exit_code == EXIT_BAD_INPUT and caught.value.key == "table-migration:freezeHook"
        assert world.events == [] and world.stack.config == before


def test_a_freeze_hook_that_loads_lets_plan_go_on(world: World) -> None:
    world.stack.config.update(online="true", freezeHook="json:dumps", writers=[])  # the hook alone stops writes
    assert world.migration().plan(1).target == 1


def test_the_hook_is_not_asked_of_stage_0_or_of_an_offline_migration(world: World) -> None:
    world.stack.config.update(online="true", freezeHook="nosuchmod_for_the_freeze:freeze")
    assert world.migration().plan(0).target == 0  # stage 0 declares the legacy table only
    world.stack.config["online"] = "false"
    assert world.migration().up(1).stages_run == (0, 1)  # offline: the hook is never called


def test_a_record_table_that_is_not_a_table_name_is_refused_before_the_store_is_made(world: World) -> None:
    # Given a recordTable written as an object (the store would create a table literally named "{'a': 1}")
    world.stack.config["recordTable"] = {"a": 1}
    migration = Migration(world.stack, data=world.data, lock_dir=world.lock_dir)  # the DynamoDB record store
    # When status or up runs, then it is bad input naming the key, before any AWS call
    for attempt in (migration.status, lambda: migration.up(1)):
        with pytest.raises(ConfigError) as caught:
            attempt()
        assert caught.value.key == "table-migration:recordTable" and caught.value.exit_code == EXIT_BAD_INPUT
    assert world.events == []


def test_cli_up_with_a_hook_that_cannot_load_exits_2_naming_the_key(cli_world: Any) -> None:  # noqa: F811
    cli_world.stack.config.update(online="true", freezeHook="nosuchmod_for_the_freeze:freeze")
    result = CliRunner().invoke(app, ["up", "--stage", "1"])
    assert result.exit_code == 2, result.output
    assert "table-migration:freezeHook" in result.stderr and "Traceback" not in result.output + result.stderr
