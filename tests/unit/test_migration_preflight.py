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
