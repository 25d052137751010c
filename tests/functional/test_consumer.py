"""The simulated consumer on moto: it follows the function's configuration, is throttled at concurrency 0,
keeps the write mix, paces its requests and logs every acknowledged write."""

from __future__ import annotations

import uuid

from migrator.core.derive import Deriver, parse_rules
from tests.functional.test_verify import make_table
from tests.support.consumer import SimulatedConsumer, create_writer_function
from tests.support.tables import scan_all

ENV = {
    "TABLE_NAME": "Legacy",
    "NAME_ATTRIBUTE": "Name",
    "NAME_TYPE": "S",
    "TABLE_SCHEMAS": '{"Legacy": {"partitionKey": "Name"}, '
    '"New": {"partitionKey": "UUID", "derive": {"UUID": "uuid5(Name)"}}}',
}
DERIVER = Deriver(parse_rules({"UUID": "uuid5(Name)"}))


def seeded(moto, count: int = 20) -> dict[str, dict]:
    make_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    items = {f"seed-{n:03d}": {"Name": {"S": f"seed-{n:03d}"}, "Score": {"N": "0"}} for n in range(count)}
    for item in items.values():
        moto.dynamodb.put_item(TableName="Legacy", Item=item)
    create_writer_function(moto.settings, "Writer", ENV)
    return items


def consumer(moto, names, **kwargs) -> SimulatedConsumer:
    return SimulatedConsumer(moto.settings, "Writer", names, sleep=lambda s: None, **kwargs)


def test_acknowledged_writes_are_what_the_table_holds(moto):
    initial = seeded(moto)
    writer = consumer(moto, initial, seed=1)
    writer.run(120)
    assert writer.errors == [] and len(writer.acks) == 120
    # The mix: 70% updates, 20% new items, 10% deletes (this seed gives close to it)
    counts = {a: sum(1 for x in writer.acks if x.action == a) for a in ("update", "insert", "delete")}
    assert 70 <= counts["update"] <= 98 and 14 <= counts["insert"] <= 34 and 5 <= counts["delete"] <= 20
    # Every acknowledged write, and nothing else, is in the table
    held = {i["Name"]["S"]: i for i in scan_all(moto.dynamodb, "Legacy")}
    final = writer.final_items(initial)
    assert set(held) == set(final)
    assert all(held[n]["Score"] == {"N": final[n]["Score"]["N"]} for n in final)


def test_it_writes_where_table_name_points_now(moto):
    initial = seeded(moto)
    writer = consumer(moto, initial, seed=2)
    writer.run(10)
    moto.settings.client("lambda").update_function_configuration(
        FunctionName="Writer", Environment={"Variables": {**ENV, "TABLE_NAME": "New"}}
    )
    writer.run(10)
    assert {a.table for a in writer.acks[:10]} == {"Legacy"} and {a.table for a in writer.acks[10:]} == {"New"}
    last_on_new = {a.name: a.item for a in writer.acks[10:]}
    held = {i["Name"]["S"]: i for i in scan_all(moto.dynamodb, "New")}
    assert held == {name: item for name, item in last_on_new.items() if item is not None}
    for name, item in held.items():
        assert item["UUID"] == {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, name))}


def test_throttled_while_the_reserved_concurrency_is_zero(moto):
    initial = seeded(moto)
    lam = moto.settings.client("lambda")
    writer = consumer(moto, initial, seed=3)
    lam.put_function_concurrency(FunctionName="Writer", ReservedConcurrentExecutions=0)
    before = {i["Name"]["S"]: i for i in scan_all(moto.dynamodb, "Legacy")}
    writer.run(15)
    assert (writer.throttled, writer.acks) == (15, [])
    assert {i["Name"]["S"]: i for i in scan_all(moto.dynamodb, "Legacy")} == before
    lam.delete_function_concurrency(FunctionName="Writer")
    writer.run(5)
    assert len(writer.acks) == 5


def test_requests_are_paced_at_the_rate(moto):
    # On a clock that moves only when the writer sleeps: 20 requests at 10/s take 2 s of sleep
    initial = seeded(moto, 3)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    writer = SimulatedConsumer(moto.settings, "Writer", initial, rate=10.0, clock=lambda: now[0], sleep=sleep)
    writer.run(20)
    assert writer.requests == 20 and abs(now[0] - 2.0) < 1e-9


def test_expected_new_items_follow_the_derive_rules(moto):
    initial = seeded(moto, 5)
    writer = consumer(moto, initial, seed=4)
    writer.run(30)
    expected = writer.expected_new_items(initial, DERIVER)
    assert set(expected) == set(writer.final_items(initial))
    for name, item in expected.items():
        assert item["UUID"] == {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, name))}


def test_a_state_ttl_reuses_the_function_s_state_for_that_long_and_no_longer(moto):
    # Given a consumer whose clock moves 0.03 s per request and that reuses the function's state for 0.1 s
    initial = seeded(moto)
    ticks = iter(n * 0.03 for n in range(1000))
    writer = consumer(moto, initial, seed=2, state_ttl=0.1, clock=lambda: next(ticks))
    lam = moto.settings.client("lambda")
    writer.run(3)
    # when the function is frozen, the next request (within 0.1 s of the last read) still writes: an
    # invocation in flight at the freeze, which the cutover's in-flight wait covers
    lam.put_function_concurrency(FunctionName="Writer", ReservedConcurrentExecutions=0)
    assert writer.step() is not None
    # then once the state is older than the TTL it is read again, and the request is throttled
    writer.run(4)
    assert writer.throttled >= 3 and len(writer.acks) == 4
    # and with no TTL (the default) every request reads it
    eager = consumer(moto, initial, seed=3)
    assert eager.step() is None and eager.throttled == 1
