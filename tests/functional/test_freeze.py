"""Freezing, flipping and unfreezing Lambda writers on moto, the freeze hook, and the in-flight wait.

moto keeps reserved concurrency and event source mappings as set but enforces neither; what a frozen
writer does is the simulated consumer's business (tests/support/consumer.py).
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.core.errors import ConfigError, FreezeError, NotFoundError
from migrator.core.online_config import Writer
from migrator.data.stream.freeze import (
    FreezeState,
    capture,
    flip,
    flip_back,
    freeze,
    set_table,
    unfreeze,
    wait_in_flight,
)
from tests.support.consumer import create_writer_function

ENV = {"TABLE_NAME": "Legacy", "OTHER": "kept", "LOG_LEVEL": "INFO"}


@pytest.fixture
def lam(moto) -> Any:
    return moto.settings.client("lambda")


def queue_mapping(moto, lam, function: str, name: str, *, enabled: bool) -> str:
    sqs = moto.settings.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, Enabled=enabled)["UUID"]


def mapping_states(lam, function: str) -> dict[str, str]:
    return {m["UUID"]: m["State"] for m in lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]}


def concurrency(lam, function: str) -> int | None:
    return lam.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions")


def variables(lam, function: str) -> dict[str, str]:
    return lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]


def test_freeze_and_unfreeze_restore_exactly_what_was_there(moto, lam):
    # Given two writers: one without reserved concurrency and with mappings (one on, one off), one reserved at 7
    create_writer_function(moto.settings, "Orders", ENV, timeout=9)
    create_writer_function(moto.settings, "Billing", {"BILLING_TABLE": "Legacy"}, timeout=4)
    lam.put_function_concurrency(FunctionName="Billing", ReservedConcurrentExecutions=7)
    on = queue_mapping(moto, lam, "Orders", "orders-in", enabled=True)
    off = queue_mapping(moto, lam, "Orders", "orders-parked", enabled=False)
    writers = [Writer("Orders"), Writer("Billing", "BILLING_TABLE")]
    # When captured, then frozen
    state = capture(lam, writers, expect_table="Legacy")
    assert state.in_flight_bound == 9.0
    assert [(w.reserved_concurrency, w.enabled_mappings, w.table) for w in state.writers] == [
        (None, (on,), "Legacy"),
        (7, (), "Legacy"),
    ]
    freeze(lam, state)
    # Then both are at concurrency 0 and the enabled mapping is off
    assert (concurrency(lam, "Orders"), concurrency(lam, "Billing")) == (0, 0)
    assert mapping_states(lam, "Orders") == {on: "Disabled", off: "Disabled"}
    # And unfreezing restores "unset", 7, and only the mapping that was on
    assert unfreeze(lam, state) == []
    assert (concurrency(lam, "Orders"), concurrency(lam, "Billing")) == (None, 7)
    assert mapping_states(lam, "Orders") == {on: "Enabled", off: "Disabled"}
    # Unfreezing again (a rerun after a crash) changes nothing
    unfreeze(lam, state)
    assert (concurrency(lam, "Orders"), concurrency(lam, "Billing")) == (None, 7)


def test_the_state_is_a_plain_dict_a_rerun_can_restore_from(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    on = queue_mapping(moto, lam, "Orders", "orders-in", enabled=True)
    state = capture(lam, [Writer("Orders")], hook="ops.hooks:freeze")
    freeze(lam, state)
    # The executor records it as JSON before freezing; a later run restores from the record alone
    recorded = json.loads(json.dumps(state.to_dict()))
    assert FreezeState.from_dict(recorded) == state
    unfreeze(lam, FreezeState.from_dict(recorded))
    assert concurrency(lam, "Orders") is None and mapping_states(lam, "Orders") == {on: "Enabled"}


def test_a_mapping_deleted_while_frozen_is_a_warning(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    on = queue_mapping(moto, lam, "Orders", "orders-in", enabled=True)
    state = capture(lam, [Writer("Orders")])
    freeze(lam, state)
    lam.delete_event_source_mapping(UUID=on)
    assert unfreeze(lam, state) == [f"event source mapping {on} of Orders no longer exists"]


@pytest.mark.parametrize(
    ("writer", "expect", "error", "says"),
    [
        (Writer("Orders", "ORDERS_TABLE"), None, ConfigError, "no environment variable ORDERS_TABLE"),
        (Writer("Orders"), "Other", ConfigError, "TABLE_NAME=Legacy, not the table being moved (Other)"),
        (Writer("Missing"), None, NotFoundError, "function Missing does not exist"),
    ],
)
def test_capture_refuses_writers_it_cannot_freeze(moto, lam, writer, expect, error, says):
    create_writer_function(moto.settings, "Orders", ENV)
    with pytest.raises(error, match=says.replace("(", r"\(").replace(")", r"\)")) as caught:
        capture(lam, [writer], expect_table=expect)
    assert caught.value.exit_code == 2
    assert concurrency(lam, "Orders") is None


def test_flip_keeps_every_other_variable_and_flip_back_restores(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    state = capture(lam, [Writer("Orders")])
    assert flip(lam, state, "New") == ["Orders"]
    assert variables(lam, "Orders") == {**ENV, "TABLE_NAME": "New"}
    assert flip(lam, state, "New") == []  # already there
    assert flip_back(lam, state) == ["Orders"]
    assert variables(lam, "Orders") == ENV


class Updating:
    """moto's Lambda client, but the configuration reads LastUpdateStatus from ``statuses`` first (moto: always
    Successful), and the first update may be refused as AWS does (a changed RevisionId)."""

    def __init__(self, client: Any, statuses: list[str], *, refuse_first: str | None = None) -> None:
        self.client, self.statuses, self.refuse_first = client, statuses, refuse_first
        self.updates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_function_configuration(self, **kwargs: Any) -> Any:
        config = self.client.get_function_configuration(**kwargs)
        config["RevisionId"] = f"rev-{self.updates}"
        if self.statuses:
            config["LastUpdateStatus"] = self.statuses.pop(0)
            config["LastUpdateStatusReason"] = "the role cannot be assumed"
        return config

    def update_function_configuration(self, **kwargs: Any) -> Any:
        assert kwargs["RevisionId"] == f"rev-{self.updates}"
        self.updates += 1
        if self.refuse_first:
            code, self.refuse_first = self.refuse_first, None
            raise ClientError({"Error": {"Code": code, "Message": "changed meanwhile"}}, "UpdateFunctionConfiguration")
        return self.client.update_function_configuration(**kwargs)


def test_the_flip_waits_for_an_update_in_progress_and_for_success(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    state = capture(lam, [Writer("Orders")])
    sleeps: list[float] = []
    client = Updating(lam, ["InProgress", "Successful", "InProgress", "InProgress", "Successful"])
    assert set_table(client, state.writers[0], "New", sleep=sleeps.append, clock=lambda: 0.0)
    assert sleeps == [0.5, 0.5, 0.5] and variables(lam, "Orders")["TABLE_NAME"] == "New"


def test_a_configuration_changed_meanwhile_is_read_again(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    state = capture(lam, [Writer("Orders")])
    client = Updating(lam, [], refuse_first="PreconditionFailedException")
    assert set_table(client, state.writers[0], "New", sleep=lambda s: None)
    assert client.updates == 2 and variables(lam, "Orders")["TABLE_NAME"] == "New"


def test_a_failed_update_says_why(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    state = capture(lam, [Writer("Orders")])
    client = Updating(lam, ["Successful", "Failed"])
    with pytest.raises(FreezeError, match="the role cannot be assumed"):
        set_table(client, state.writers[0], "New", sleep=lambda s: None)


def test_the_hook_is_called_to_freeze_and_unfreeze(moto, lam):
    create_writer_function(moto.settings, "Orders", ENV)
    calls: list[tuple[str, dict]] = []
    state = capture(lam, [Writer("Orders")], hook="h:f")
    context = {"legacyTable": "Legacy", "newTable": "New"}
    freeze(lam, state, hook_fn=lambda action, ctx: calls.append((action, ctx)), context=context)
    unfreeze(lam, state, hook_fn=lambda action, ctx: calls.append((action, ctx)), context=context)
    assert calls == [("freeze", context), ("unfreeze", context)]


def test_a_failing_hook_is_a_freeze_error_naming_it(moto, lam, monkeypatch):
    module = types.ModuleType("broken_hook_mod")

    def hook(action, context):
        raise RuntimeError("queue consumer did not stop")

    module.freeze = hook
    monkeypatch.setitem(sys.modules, "broken_hook_mod", module)
    from migrator.core.online_config import load_freeze_hook

    state = FreezeState((), hook="broken_hook_mod:freeze")
    with pytest.raises(FreezeError, match="freezeHook broken_hook_mod:freeze failed on 'freeze'") as caught:
        freeze(lam, state, hook_fn=load_freeze_hook(state.hook))
    assert caught.value.exit_code == 1 and "queue consumer did not stop" in str(caught.value)


def test_the_in_flight_wait_stops_when_quiet_or_at_the_bound():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    answers = iter([False, False, True])
    quiet = wait_in_flight(10, lambda: next(answers), clock=lambda: now[0], sleep=sleep, poll_seconds=0.5)
    assert (quiet.reason, quiet.seconds) == ("quiet", 1.0)
    now[0] = 0.0
    bounded = wait_in_flight(3, lambda: False, clock=lambda: now[0], sleep=sleep, poll_seconds=0.5)
    assert (bounded.reason, bounded.seconds) == ("timeout", 3.0)


def test_a_record_of_another_format_is_refused_with_what_to_do():
    from migrator.core.errors import MigrationError

    with pytest.raises(MigrationError, match="format 2, not 1") as caught:
        FreezeState.from_dict({"format": 2, "writers": []})
    assert "by hand" in str(caught.value)
