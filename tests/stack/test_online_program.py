"""The program in the online mode, under mocks: the legacy table's stream and the consumer's environment."""

from __future__ import annotations

import json

import pytest

from tests.stack.harness import example_config, run_program

FUNCTION = "aws:lambda/function:Function"


def _stream(config: dict, stage: int, table: str = "table-legacy") -> tuple[object, object]:
    inputs = run_program(config, stage).one(table).inputs
    return inputs.get("streamEnabled"), inputs.get("streamViewType")


def _env(config: dict, stage: int) -> dict[str, str]:
    return run_program(config, stage).one("hello-world", type=FUNCTION).inputs["environment"]["variables"]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_online_the_legacy_table_has_a_new_and_old_images_stream_from_stage_1(stage: int) -> None:
    assert _stream(example_config(), stage) == (True, "NEW_AND_OLD_IMAGES")


def test_online_stage_0_declares_the_legacy_table_as_it_is() -> None:
    assert _stream(example_config(), 0) == (None, None)


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_an_existing_stream_is_declared_unchanged(stage: int) -> None:
    # Given a legacy table recorded with a NEW_IMAGE stream (`migrate init` records it)
    config = example_config()
    config["legacyTable"] = {**config["legacyTable"], "stream": "NEW_IMAGE"}
    # then every stage declares that very stream: a new view type would replace it
    assert _stream(config, stage) == (True, "NEW_IMAGE")


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_offline_no_stream_is_declared(stage: int) -> None:
    config = {**example_config(), "online": False}
    assert _stream(config, stage) == (None, None)
    if stage >= 2:
        assert _stream(config, stage, "table-new") == (None, None)


def test_online_the_cutover_update_declares_what_the_flip_of_table_name_made() -> None:
    # Given the consumer's environment at stage 2 and 3 (online)
    two, three = _env(example_config(), 2), _env(example_config(), 3)
    # then the migrator's flip of TABLE_NAME alone turns the one into the other: the update leaves it so
    assert (two["TABLE_NAME"], three["TABLE_NAME"]) == ("MyTable", "MyNewTable")
    assert {**two, "TABLE_NAME": "MyNewTable"} == three
    schemas = json.loads(two["TABLE_SCHEMAS"])
    assert schemas["MyTable"] == {"partitionKey": "Name", "ttlAttribute": "ExpiresAt"}
    assert schemas["MyNewTable"] == {
        "partitionKey": "UUID",
        "ttlAttribute": "ExpiresAt",
        "derive": {"UUID": "uuid5(Name)"},
    }


def test_offline_the_environment_is_as_before() -> None:
    config = {**example_config(), "online": False}
    assert "TABLE_SCHEMAS" not in _env(config, 2) and "TABLE_SCHEMAS" not in _env(config, 3)
    assert _env(config, 3)["PARTITION_KEY"] == "UUID"
