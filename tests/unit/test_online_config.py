"""The online-migration config keys: defaults, what a good config gives, and errors naming key and fix."""

from __future__ import annotations

import sys
import types

import pytest

from migrator.core.config import key, parse_config
from migrator.core.errors import BadInputError, ConfigError
from migrator.core.online_config import (
    CatchUp,
    OnlineConfig,
    Writer,
    check_max_lag,
    load_freeze_hook,
    parse_online,
)

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
    assert online == OnlineConfig(online=True, writers=None, freeze_hook=None, catch_up=CatchUp(2.0, 0.3))
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
        catchUp='{"maxLagSeconds": "0.5", "quietSeconds": 0.2}',
    ).online
    assert online.online is False
    assert online.writers == (Writer("Orders", "ORDERS_TABLE"), Writer("Billing", "TABLE_NAME"))
    assert online.resolve_writers("ignored") == online.writers
    assert online.freeze_hook == "ops.writers:freeze"
    assert online.catch_up == CatchUp(max_lag_seconds=0.5, quiet_seconds=0.2)
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
        ({"catchUp": {"quietSeconds": -1}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        ({"catchUp": {"quietSeconds": "inf"}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        # bounds: a freeze that waits for a quiet stream of minutes, a "lag" of hours, are units typed wrong
        ({"catchUp": {"quietSeconds": 0}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        ({"catchUp": {"quietSeconds": 1e9}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        ({"catchUp": {"quietSeconds": 60.5}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        ({"catchUp": {"quietSeconds": "nan"}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        ({"catchUp": {"quietSeconds": True}}, "catchUp.quietSeconds", "above 0 and at most 60"),
        ({"catchUp": {"maxLagSeconds": 1e12}}, "catchUp.maxLagSeconds", "above 0 and at most 3600"),
        ({"catchUp": {"maxLagSeconds": 3600.1}}, "catchUp.maxLagSeconds", "above 0 and at most 3600"),
        ({"catchUp": {"maxLagSeconds": "-inf"}}, "catchUp.maxLagSeconds", "above 0 and at most 3600"),
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


def test_a_hook_module_that_fails_while_importing_is_bad_input_with_its_error(monkeypatch, tmp_path):
    # Given a hook module whose import raises (not an ImportError: its own code fails)
    (tmp_path / "hook_that_raises.py").write_text("raise RuntimeError('no credentials for the queue')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        load_freeze_hook("hook_that_raises:freeze")
    # Then it is a config error naming the key and the module's own error, not a traceback
    assert caught.value.exit_code == 2 and caught.value.key == key("freezeHook")
    assert "RuntimeError: no credentials for the queue" in str(caught.value)


@pytest.mark.parametrize(("given", "bounded"), [(None, None), (2, 2.0), (3600, 3600.0), (0.25, 0.25)])
def test_max_lag_within_bounds_is_taken(given, bounded):
    assert check_max_lag(given) == bounded


@pytest.mark.parametrize("given", [0, -1, 3600.5, float("inf"), float("nan"), 1e12])
def test_max_lag_outside_bounds_is_bad_input_naming_the_option(given):
    with pytest.raises(BadInputError) as caught:
        check_max_lag(given)
    assert caught.value.exit_code == 2
    assert "--max-lag" in str(caught.value) and "at most 3600" in str(caught.value)
