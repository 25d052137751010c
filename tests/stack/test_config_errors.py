"""Wrong stack config stops the program before it declares anything, naming the key and the fix."""

from __future__ import annotations

import pulumi
import pytest

from migrator.program.config import StackConfigError
from tests.stack.harness import RecordingMonitor, example_config, run_program


def _without(key: str) -> dict:
    config = example_config()
    del config[key]
    return config


def _with(**changes) -> dict:
    return {**example_config(), **changes}


def _legacy_key_type(kind: str) -> dict:
    config = example_config()
    config["legacyTable"] = {**config["legacyTable"], "partitionKey": {"name": "Name", "type": kind}}
    return config


def _new_with(**fields) -> dict:
    config = example_config()
    config["newTable"] = {**config["newTable"], **fields}
    return config


_GSI = {"name": "ByName", "partitionKey": {"name": "Name", "type": "S"}, "projection": "SOME"}
_LSI = {"name": "ByAge", "sortKey": {"name": "Age", "type": "N"}, "projection": "ALL"}


CASES = [
    # (config, stage, key named, words of the fix)
    pytest.param(example_config(), "5", "table-migration:stage", "0..4", id="stage-5"),
    pytest.param(example_config(), "x", "table-migration:stage", "config set table-migration:stage", id="stage-x"),
    pytest.param(example_config(), "-1", "table-migration:stage", "0..4", id="stage-negative"),
    pytest.param(_legacy_key_type("X"), "0", "table-migration:legacyTable.partitionKey.type", "S, N or B", id="type-X"),
    pytest.param(_without("newTable"), "1", "table-migration:newTable", "add newTable", id="new-missing"),
    pytest.param(_without("importSource"), "2", "table-migration:importSource", "migrate up --stage 1", id="no-source"),
    pytest.param(_with(derive={"UUID": "md5(Name)"}), "1", "table-migration:derive", "uuid5(Y)", id="bad-derive"),
    pytest.param(_without("legacyTable"), "0", "table-migration:legacyTable", "Pulumi.<stack>.yaml", id="no-legacy"),
    pytest.param(_without("aws:region"), "0", "aws:region", "pulumi config set aws:region", id="no-region"),
    pytest.param(
        _new_with(globalSecondaryIndexes=[_GSI]),
        "2",
        "table-migration:newTable.globalSecondaryIndexes[0].projection",
        "{include: [Attr",
        id="gsi-projection",
    ),
    pytest.param(
        _new_with(sortKey={"name": "Created", "type": "N"}, localSecondaryIndexes=[_LSI]),
        "2",
        "table-migration:newTable.load",
        "newTable.load: write",
        id="lsi-needs-write",
    ),
    pytest.param(
        _new_with(billing={"mode": "PROVISIONED"}),
        "2",
        "table-migration:newTable.billing.read",
        "read: 5",
        id="billing",
    ),
    pytest.param(
        {k: v for k, v in _with(endpoint="http://127.0.0.1:5000").items() if k != "aws:region"},
        "0",
        "aws:region",
        "pulumi config set aws:region",
        id="endpoint-no-region",
    ),
]


@pytest.mark.parametrize(("config", "stage", "key", "fix"), CASES)
def test_bad_config_stops_the_program_naming_key_and_fix(config, stage, key, fix, monkeypatch):
    # Given a wrong config, when the program runs, then it stops with a RunError (no traceback from
    # Pulumi's runner) whose message names the key and the fix, and nothing was declared.
    declared = []
    original = RecordingMonitor.RegisterResource

    def spy(self, request):
        declared.append(request.type)
        return original(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", spy)
    with pytest.raises(StackConfigError) as caught:
        run_program(config, stage)
    assert isinstance(caught.value, pulumi.RunError)
    assert caught.value.key == key
    message = str(caught.value)
    assert f"Config {key}:" in message
    assert fix in message
    assert declared == ["pulumi:pulumi:Stack"]


def test_stage_0_needs_no_new_table():
    # Given only the legacy table, stage 0 runs.
    config = {"aws:region": "us-east-1", "legacyTable": example_config()["legacyTable"]}
    recorded = run_program(config, 0)
    assert recorded.outputs["activeTableName"] == "MyTable"


def test_a_failed_run_leaves_no_state_behind():
    # Given a run that failed, when the next run is good, it declares exactly what a first run would.
    with pytest.raises(StackConfigError):
        run_program(example_config(), "9")
    after_failure = run_program(example_config(), 2)
    fresh = run_program(example_config(), 2)

    # Registration order follows Pulumi's async resolution, so compare by URN.
    def declared(recorded):
        # The Lambda's code archive is an object compared by identity: leave it out.
        return {r.urn: {k: v for k, v in r.inputs.items() if k != "code"} for r in recorded.resources}

    assert declared(after_failure) == declared(fresh)
    assert after_failure.outputs == fresh.outputs
