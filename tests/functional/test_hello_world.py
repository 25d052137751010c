"""The HelloWorld handler against a moto server: legacy schema, new (derived) schema, bad events."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "functions" / "hello_world" / "handler.py"
LEGACY_ENV = {
    "TABLE_NAME": "MyTable",
    "PARTITION_KEY": "Name",
    "NAME_ATTRIBUTE": "Name",
    "NAME_TYPE": "S",
    "TTL_ATTRIBUTE": "ExpiresAt",
}
NEW_ENV = {**LEGACY_ENV, "TABLE_NAME": "MyNewTable", "PARTITION_KEY": "UUID", "KEY_DERIVE": '{"UUID": "uuid5(Name)"}'}


@pytest.fixture
def handler_module(monkeypatch):
    """The handler module, loaded fresh from its file (as Lambda loads it: a top-level module)."""
    spec = importlib.util.spec_from_file_location("hello_world_handler", HANDLER)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def create_table(dynamodb, name: str, *keys: tuple[str, str]) -> None:
    schema = [{"AttributeName": k, "KeyType": kt} for (k, _), kt in zip(keys, ("HASH", "RANGE"), strict=False)]
    dynamodb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t in keys],
        BillingMode="PAY_PER_REQUEST",
    )


def use_env(monkeypatch, moto, env: dict[str, str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_legacy_schema_put_and_read_back(moto, monkeypatch, handler_module):
    # Given the legacy table and the stage-0 environment
    create_table(moto.dynamodb, "MyTable", ("Name", "S"))
    use_env(monkeypatch, moto, LEGACY_ENV)
    before = time.time()
    # When the function is invoked
    result = handler_module.handler({"name": "alice", "ttl_days": 2}, None)
    # Then the item is in the legacy table, keyed by Name, with a TTL two days out
    stored = moto.dynamodb.get_item(TableName="MyTable", Key={"Name": {"S": "alice"}})["Item"]
    assert result == {"table": "MyTable", "key": {"Name": {"S": "alice"}}, "item": stored}
    expires = int(stored["ExpiresAt"]["N"])
    assert int(before) + 2 * 86400 <= expires <= int(time.time()) + 2 * 86400
    json.dumps(result)  # the Lambda runtime serialises the result as JSON


def test_new_schema_derives_the_key_like_the_migration(moto, monkeypatch, handler_module):
    # Given the new table and the cutover environment (key derived with uuid5(Name))
    create_table(moto.dynamodb, "MyNewTable", ("UUID", "S"))
    use_env(monkeypatch, moto, NEW_ENV)
    # When the function is invoked
    result = handler_module.handler({"name": "alice"}, None)
    # Then the item is keyed by the UUID the migration gives the same legacy item, and keeps Name
    expected = str(uuid.uuid5(uuid.NAMESPACE_URL, "alice"))
    assert result["key"] == {"UUID": {"S": expected}}
    stored = moto.dynamodb.get_item(TableName="MyNewTable", Key={"UUID": {"S": expected}})["Item"]
    assert stored["Name"] == {"S": "alice"}
    assert result["item"] == stored
    assert moto.dynamodb.scan(TableName="MyNewTable")["Count"] == 1


def test_sort_key_and_extra_attributes(moto, monkeypatch, handler_module):
    create_table(moto.dynamodb, "Events", ("Name", "S"), ("Created", "N"))
    env = {**LEGACY_ENV, "TABLE_NAME": "Events", "SORT_KEY": "Created"}
    del env["TTL_ATTRIBUTE"]
    settings = handler_module.Settings.from_env(env)
    event = {"name": "bob", "attributes": {"Created": 1700000000, "Note": "hi", "Done": True}}
    result = handler_module.put_and_read(moto.dynamodb, settings, event)
    assert result["key"] == {"Name": {"S": "bob"}, "Created": {"N": "1700000000"}}
    assert result["item"] == {
        "Name": {"S": "bob"},
        "Created": {"N": "1700000000"},
        "Note": {"S": "hi"},
        "Done": {"BOOL": True},
    }


def test_number_name_attribute(moto, handler_module):
    create_table(moto.dynamodb, "Numbers", ("Id", "N"))
    settings = handler_module.Settings.from_env(
        {"TABLE_NAME": "Numbers", "PARTITION_KEY": "Id", "NAME_ATTRIBUTE": "Id", "NAME_TYPE": "N"}
    )
    result = handler_module.put_and_read(moto.dynamodb, settings, {"name": 42})
    assert result["item"] == {"Id": {"N": "42"}}


@pytest.mark.parametrize(
    ("env", "event", "message"),
    [
        (LEGACY_ENV, {}, '"name"'),
        (LEGACY_ENV, {"name": ""}, '"name"'),
        (LEGACY_ENV, {"name": "a", "ttl_days": "soon"}, "ttl_days"),
        (LEGACY_ENV, {"name": "a", "attributes": {"x": [1]}}, "not a string"),
        ({**NEW_ENV, "KEY_DERIVE": '{"UUID": "uuid5(Email)"}'}, {"name": "a"}, "missing attribute Email"),
        ({**LEGACY_ENV, "SORT_KEY": "Created"}, {"name": "a"}, "lacks key attribute(s) Created"),
    ],
)
def test_bad_events_write_nothing(moto, handler_module, env, event, message):
    create_table(moto.dynamodb, env["TABLE_NAME"], (env["PARTITION_KEY"], "S"))
    settings = handler_module.Settings.from_env(env)
    with pytest.raises(handler_module.BadEventError, match=message.replace("(", r"\(").replace(")", r"\)")):
        handler_module.put_and_read(moto.dynamodb, settings, event)
    assert moto.dynamodb.scan(TableName=env["TABLE_NAME"])["Count"] == 0


def test_the_lambda_archive_runs_on_its_own(moto, tmp_path):
    # Given the files of the Lambda archive the stack ships, unpacked alone in a folder
    from stacks.app import function_code

    for name, asset in function_code().assets.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(asset.path).read_bytes())
    create_table(moto.dynamodb, "MyNewTable", ("UUID", "S"))
    script = (
        "import json, handler, migrator.core.derive as d; "
        "print(json.dumps({'derive': d.__file__, 'result': handler.handler({'name': 'carol'}, None)}))"
    )
    env = {
        **NEW_ENV,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "PYTHONPATH": str(tmp_path),
    }
    # When the handler is imported from that folder and invoked
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    # Then it used the archive's own derive code and wrote the derived key
    payload = json.loads(out.stdout)
    assert payload["derive"].startswith(str(tmp_path))
    assert payload["result"]["key"] == {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "carol"))}}


SCHEMAS = json.dumps(
    {
        "MyTable": {"partitionKey": "Name", "ttlAttribute": "ExpiresAt"},
        "MyNewTable": {"partitionKey": "UUID", "ttlAttribute": "ExpiresAt", "derive": {"UUID": "uuid5(Name)"}},
    }
)


def test_delete_removes_the_item_the_same_event_would_put(moto, monkeypatch, handler_module):
    create_table(moto.dynamodb, "MyNewTable", ("UUID", "S"))
    use_env(monkeypatch, moto, NEW_ENV)
    handler_module.handler({"name": "alice"}, None)
    handler_module.handler({"name": "bob"}, None)
    result = handler_module.handler({"name": "alice", "action": "delete"}, None)
    assert result == {
        "table": "MyNewTable",
        "key": {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "alice"))}},
        "item": None,
    }
    names = [i["Name"]["S"] for i in moto.dynamodb.scan(TableName="MyNewTable")["Items"]]
    assert names == ["bob"]


def test_table_schemas_let_table_name_alone_move_the_function(moto, monkeypatch, handler_module):
    # Given both tables and an environment that describes both; only TABLE_NAME differs between the stages
    create_table(moto.dynamodb, "MyTable", ("Name", "S"))
    create_table(moto.dynamodb, "MyNewTable", ("UUID", "S"))
    env = {"TABLE_NAME": "MyTable", "NAME_ATTRIBUTE": "Name", "NAME_TYPE": "S", "TABLE_SCHEMAS": SCHEMAS}
    before = handler_module.handle(moto.dynamodb, handler_module.Settings.from_env(env), {"name": "a"})
    after = handler_module.handle(
        moto.dynamodb, handler_module.Settings.from_env({**env, "TABLE_NAME": "MyNewTable"}), {"name": "a"}
    )
    # Then the same event is keyed for whichever table TABLE_NAME names
    assert before["key"] == {"Name": {"S": "a"}} and "UUID" not in before["item"]
    assert after["key"] == {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "a"))}}
    assert after["item"]["Name"] == {"S": "a"} and "ExpiresAt" in after["item"]


def test_an_unknown_action_writes_nothing(moto, handler_module):
    create_table(moto.dynamodb, "MyTable", ("Name", "S"))
    settings = handler_module.Settings.from_env(LEGACY_ENV)
    with pytest.raises(handler_module.BadEventError, match='"action" must be'):
        handler_module.handle(moto.dynamodb, settings, {"name": "a", "action": "update"})
    assert moto.dynamodb.scan(TableName="MyTable")["Count"] == 0
