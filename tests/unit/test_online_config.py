"""The online-migration config keys: defaults, what a good config gives, and errors naming key and fix."""

from __future__ import annotations

import sys
import types

import pytest

from migrator.core.config import key, parse_config
from migrator.core.errors import ConfigError
from migrator.core.online_config import CatchUp, OnlineConfig, Writer, load_freeze_hook, parse_online

LEGACY = {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}}


def config(**values):
    return parse_config({"stage": "0", "legacyTable": LEGACY, **values})


def error(**values) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config(**values)
    assert caught.value.exit_code == 2
    return caught.value


def test_defaults_online_with_the_consumer_as_writer():
    online = config().online
    assert online == OnlineConfig(online=True, writers=None, freeze_hook=None, catch_up=CatchUp(2.0, 1.0))
    assert online.resolve_writers("HelloWorld-dev") == (Writer("HelloWorld-dev", "TABLE_NAME"),)


def test_no_writers_and_no_consumer_output_names_the_key():
    with pytest.raises(ConfigError) as caught:
        OnlineConfig().resolve_writers(None)
    assert caught.value.key == key("writers")
    assert "consumerFunctionName" in str(caught.value) and "writers: [{function:" in str(caught.value)


def test_a_full_online_config_as_pulumi_gives_it():
    # Pulumi's config hands objects and lists over as JSON text, booleans as "true"/"false"
    online = config(
        online="false",
        writers='[{"function": "Orders", "env": "ORDERS_TABLE"}, {"function": "Billing"}]',
        freezeHook="ops.writers:freeze",
        catchUp='{"maxLagSeconds": "0.5", "quietSeconds": 0}',
    ).online
    assert online.online is False
    assert online.writers == (Writer("Orders", "ORDERS_TABLE"), Writer("Billing", "TABLE_NAME"))
    assert online.resolve_writers("ignored") == online.writers
    assert online.freeze_hook == "ops.writers:freeze"
    assert online.catch_up == CatchUp(max_lag_seconds=0.5, quiet_seconds=0.0)
    assert [w.to_config() for w in online.writers][1] == {"function": "Billing", "env": "TABLE_NAME"}


def test_an_unqualified_function_arn_is_a_writer():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:Orders"
    assert parse_online({"writers": [{"function": arn}]}).writers == (Writer(arn),)


def test_hook_only_writers():
    online = parse_online({"writers": [], "freezeHook": "ops:freeze"})
    assert online.writers == () and online.resolve_writers("HelloWorld") == ()


@pytest.mark.parametrize(
    ("values", "where", "says"),
    [
        ({"online": "maybe"}, "online", "not true or false"),
        ({"writers": "Orders"}, "writers", "not a list"),
        ({"writers": ["Orders"]}, "writers[0]", "not an object"),
        ({"writers": [{"function": "Orders", "table": "x"}]}, "writers[0]", "unknown field(s) table"),
        ({"writers": [{"function": "Orders:PROD"}]}, "writers[0].function", "without a version or alias"),
        ({"writers": [{"env": "TABLE_NAME"}]}, "writers[0].function", "not a Lambda function name"),
        ({"writers": [{"function": "Orders", "env": "1TABLE"}]}, "writers[0].env", "environment variable"),
        ({"writers": [{"function": "A"}, {"function": "A"}]}, "writers[1].function", "listed twice"),
        ({"writers": []}, "writers", "nothing would stop the writes"),
        ({"freezeHook": "ops.writers"}, "freezeHook", "not module:function"),
        ({"catchUp": "fast"}, "catchUp", "not an object"),
        ({"catchUp": {"maxLag": 2}}, "catchUp", "unknown field(s) maxLag"),
        ({"catchUp": {"maxLagSeconds": 0}}, "catchUp.maxLagSeconds", "above 0"),
        ({"catchUp": {"maxLagSeconds": "soon"}}, "catchUp.maxLagSeconds", "above 0"),
        ({"catchUp": {"quietSeconds": -1}}, "catchUp.quietSeconds", "0 or more"),
        ({"catchUp": {"quietSeconds": "inf"}}, "catchUp.quietSeconds", "0 or more"),
    ],
)
def test_errors_name_the_key_and_the_fix(values, where, says):
    caught = error(**values)
    assert caught.key == key(where)
    assert says in str(caught)
    assert caught.hint  # every error says what to do


def test_the_hook_is_loaded_as_module_function(monkeypatch):
    calls = []
    module = types.ModuleType("writers_hook_mod")
    module.freeze = lambda action, context: calls.append((action, dict(context)))
    monkeypatch.setitem(sys.modules, "writers_hook_mod", module)
    hook = load_freeze_hook("writers_hook_mod:freeze")
    hook("freeze", {"table": "MyTable"})
    assert calls == [("freeze", {"table": "MyTable"})]


@pytest.mark.parametrize("spec", [None, ""])
def test_no_hook_set_loads_none(spec):
    assert load_freeze_hook(spec) is None


@pytest.mark.parametrize(
    ("spec", "says"),
    [("no_such_module_for_hooks:freeze", "cannot import"), ("json:no_such_function", "has no function")],
)
def test_a_bad_hook_is_bad_input(spec, says):
    with pytest.raises(ConfigError) as caught:
        load_freeze_hook(spec)
    assert caught.value.exit_code == 2 and caught.value.key == key("freezeHook")
    assert says in str(caught.value)
