"""Helpers of the online-mode end-to-end tests: the example stack in the online mode, the simulated consumer
writing through the stack's own Lambda function (created in moto by the engine double), and the checks
that no acknowledged write is missing."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from migrator.core.canonical import canonical_item
from migrator.core.derive import Deriver, parse_rules
from migrator.data.wire import from_wire
from migrator.demo.consumer import SimulatedConsumer
from tests.conftest import Moto
from tests.e2e.conftest import LEGACY, NEW, STACK, example_config, scan_all
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks

RULES = parse_rules({"UUID": "uuid5(Name)"})
ITEMS = 300
RATE = 5.0  # requests a second: enough to write through every step, few enough to keep the tests fast
# Short thresholds: the quiet wait and the drains are a fraction of each test's time.
ONLINE = {"online": True, "catchUp": {"maxLagSeconds": 2, "quietSeconds": 0.5}}


def online_engine(moto: Moto, **config: Any) -> MockEngineStack:
    """An engine double for stack ``e2e`` holding the example config in the online mode (plus ``config``)."""
    return MockEngineStack(STACK, {**example_config(moto.endpoint), **ONLINE, **config}, program_under_mocks)


def start_consumer(engine: MockEngineStack, moto: Moto, items: Iterable[dict[str, Any]], *, seed: int = 1) -> Any:
    """The simulated consumer, writing through the stack's consumer function from now on."""
    function = engine.outputs()["consumerFunctionName"]
    names = [item["Name"]["S"] for item in items]
    return SimulatedConsumer(moto.settings, function, names, rate=RATE, seed=seed).start()


def wait_for_writes(consumer: SimulatedConsumer, table: str, count: int, *, timeout: float = 30.0) -> None:
    """Until ``count`` more acknowledged writes went to ``table`` (or the timeout)."""
    seen = sum(1 for a in consumer.acks if a.table == table)
    deadline = time.monotonic() + timeout
    while sum(1 for a in consumer.acks if a.table == table) < seen + count and time.monotonic() < deadline:
        time.sleep(0.1)


def initial_items(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Seeded items by name, B as base64 text (as acknowledged writes carry them)."""
    return {item["Name"]["S"]: from_wire(item) for item in items}


def by_name(moto: Moto, table: str) -> dict[str, bytes]:
    """Every item of ``table``, canonical, by its Name."""
    return {item["Name"]["S"]: canonical_item(item) for item in map(from_wire, scan_all(moto.dynamodb, table))}


def expected_new(consumer: SimulatedConsumer, items: Iterable[dict[str, Any]]) -> dict[str, bytes]:
    """What the new table must hold: the seeded items after every acknowledged write, through the derive rules."""
    expected = consumer.expected_new_items(initial_items(items), Deriver(RULES))
    return {name: canonical_item(item) for name, item in expected.items()}


def expected_legacy(consumer: SimulatedConsumer, items: Iterable[dict[str, Any]]) -> dict[str, bytes]:
    """What the legacy table must hold after going back: the same items without the derived UUID."""
    final = consumer.final_items(initial_items(items))
    return {name: canonical_item({k: v for k, v in item.items() if k != "UUID"}) for name, item in final.items()}


def writers_state(moto: Moto, function: str) -> tuple[str, int | None]:
    """The function's TABLE_NAME and reserved concurrency (None: unset) as moto has them."""
    lam = moto.settings.client("lambda")
    env = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    return env["TABLE_NAME"], lam.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions")


__all__ = ["LEGACY", "NEW"]
