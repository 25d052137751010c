"""The freeze window's failure paths on moto: whatever fails before the flip, the writers end unfrozen on
their table; after the flip they stay on the new table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.core.derive import parse_rules
from migrator.core.errors import FreezeError
from migrator.core.online_config import Writer
from migrator.core.replay_map import forward_map
from migrator.data.stream.freeze import capture
from migrator.data.stream.recheck import RecheckResult
from migrator.data.stream.window import run_window
from tests.functional.test_verify import make_table
from tests.support.consumer import create_writer_function
from tests.support.tables import make_replayer, stream_table

FORWARD = forward_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))


@pytest.fixture
def setup(moto):
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    lam = moto.settings.client("lambda")
    for name in ("First", "Second"):
        create_writer_function(moto.settings, name, {"TABLE_NAME": "Legacy", "KEEP": name}, timeout=2)
    lam.put_function_concurrency(FunctionName="Second", ReservedConcurrentExecutions=3)
    state = capture(lam, [Writer("First"), Writer("Second")])
    return lam, state, make_replayer(moto, "Legacy", "New", FORWARD)


def writers(lam) -> dict[str, tuple[Any, str]]:
    return {
        name: (
            lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions"),
            lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]["TABLE_NAME"],
        )
        for name in ("First", "Second")
    }


AS_BEFORE = {"First": (None, "Legacy"), "Second": (3, "Legacy")}


def test_a_clean_window_flips_and_unfreezes_with_every_part_timed(setup, moto):
    lam, state, replayer = setup
    moto.dynamodb.put_item(TableName="Legacy", Item={"Name": {"S": "a"}})
    flipped = []
    now = [1000.0]  # one clock for the window and the replayer, moved only by their sleeps

    def sleep(seconds: float) -> None:
        now[0] += seconds

    replayer.clock, replayer.sleep = (lambda: now[0]), sleep
    result = run_window(
        lam,
        state,
        replayer,
        flip_to="New",
        recheck=lambda keys: RecheckResult(len(keys)),
        quiet_seconds=0.2,
        on_flipped=lambda: flipped.append(writers(lam)),
        clock=lambda: now[0],
        sleep=sleep,
    )
    # At the flip the writers are on the new table and still frozen; after, unfrozen as before
    assert flipped == [{"First": (0, "New"), "Second": (0, "New")}]
    assert writers(lam) == {"First": (None, "New"), "Second": (3, "New")}
    assert result.flipped == ("First", "Second") and result.replay.records == 1
    assert result.to_dict()["recheck"]["checked"] == 1
    # The parts add up to the whole window; quiet came after 0.2 s (one pause between passes)
    assert sum(result.parts.values()) == pytest.approx(result.seconds)
    assert result.parts["inFlightWait"] == pytest.approx(0.2) and result.in_flight.reason == "quiet"
    # after a quiet wait one more empty pass ends the drain (a later write is checked after the flip)
    assert result.parts["drain"] == pytest.approx(0.0)


def test_a_difference_found_by_the_recheck_stops_before_the_flip(setup):
    lam, state, replayer = setup
    differing = RecheckResult(3, differing=({"UUID": "u-1"},))
    with pytest.raises(FreezeError, match="still differ between the tables") as caught:
        run_window(lam, state, replayer, flip_to="New", recheck=lambda keys: differing, quiet_seconds=0)
    assert "unfrozen and on their table again" in str(caught.value) and caught.value.exit_code == 1
    assert writers(lam) == AS_BEFORE


class FlipFails:
    """moto's Lambda client, but setting ``function``'s table to New fails (after the first writer flipped)."""

    def __init__(self, client: Any, function: str) -> None:
        self.client, self.function = client, function

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_function_configuration(self, **kwargs: Any) -> Any:
        if kwargs["FunctionName"] == self.function and kwargs["Environment"]["Variables"]["TABLE_NAME"] == "New":
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "UpdateFunctionConfiguration"
            )
        return self.client.update_function_configuration(**kwargs)


def test_a_flip_that_fails_halfway_puts_the_first_writer_back(setup):
    lam, state, replayer = setup
    with pytest.raises(FreezeError, match="access denied"):
        run_window(FlipFails(lam, "Second"), state, replayer, flip_to="New", quiet_seconds=0)
    assert writers(lam) == AS_BEFORE


def test_an_interrupt_while_frozen_unfreezes_and_goes_on(setup):
    lam, state, replayer = setup

    def interrupted(keys):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_window(lam, state, replayer, flip_to="New", recheck=interrupted, quiet_seconds=0)
    assert writers(lam) == AS_BEFORE


def test_after_the_flip_a_failed_unfreeze_leaves_the_writers_on_the_new_table(setup):
    lam, state, replayer = setup

    class UnfreezeFails(FlipFails):
        def delete_function_concurrency(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "ServiceException", "Message": "down"}}, "DeleteFunctionConcurrency")

    with pytest.raises(FreezeError, match="now use table New but are still frozen") as caught:
        run_window(UnfreezeFails(lam, "nobody"), state, replayer, flip_to="New", quiet_seconds=0)
    assert "recorded freeze state restores" in str(caught.value)
    assert writers(lam)["First"] == (0, "New")
