"""The plugin's value codec and Terraform-style comparison, without the engine (these run everywhere).

What the engine sends must come back as it was: unknowns, secrets and the assets' and archives'
hashes (a provider that drops an archive's hash makes every preview a code update).
"""

from __future__ import annotations

from tests.real_engine.plugin.base import DEFAULTS_KEY
from tests.real_engine.plugin.compare import same
from tests.real_engine.plugin.dynamodb_table import Table
from tests.real_engine.plugin.values import (
    ARCHIVE_SIG,
    SIG,
    UNKNOWN,
    UNKNOWN_TEXT,
    Archive,
    Asset,
    Secret,
    conceal,
    from_struct,
    reveal,
    to_struct,
)


def test_unknowns_secrets_assets_and_archives_survive_a_round_trip() -> None:
    code = Archive("abc123", assets={"handler.py": Asset("def456", text="x = 1\n")})
    props = {"name": UNKNOWN, "token": Secret("s3cr3t"), "code": code, "n": 3.0, "tags": {"a": "b"}, "none": None}
    wire = to_struct(props)
    assert wire.fields["name"].string_value == UNKNOWN_TEXT
    assert wire.fields["code"].struct_value.fields[SIG].string_value == ARCHIVE_SIG
    assert wire.fields["code"].struct_value.fields["hash"].string_value == "abc123"
    assert from_struct(wire) == props


def test_reveal_strips_secrets_and_conceal_marks_their_top_level_keys_again() -> None:
    plain, secret = reveal({"env": {"variables": {"KEY": Secret("v")}}, "name": "f"})
    assert plain == {"env": {"variables": {"KEY": "v"}}, "name": "f"}
    assert secret == {"env"}
    assert conceal(plain, secret)["env"] == Secret({"variables": {"KEY": "v"}})


def test_sets_compare_without_order_and_left_out_nested_attributes_keep_the_state() -> None:
    old = [{"name": "B", "type": "N", "extra": 0}, {"name": "A", "type": "S"}]
    assert same([{"name": "A", "type": "S"}, {"name": "B", "type": "N"}], old)
    assert not same([{"name": "A", "type": "S"}], old)
    assert same('{"a": [1, 2]}', '{ "a":[1,2] }', as_json=True)
    assert not same(UNKNOWN, "x")
    assert same(False, None) and same(0, None)  # zero values are unset to the Terraform SDK
    assert not same(True, False)


def test_table_check_defaults_billing_to_provisioned_and_diff_replaces_on_a_new_name() -> None:
    table = Table()
    news = {"name": "T", "hashKey": "Id", "attributes": [{"name": "Id", "type": "S"}], "readCapacity": 1.0}
    inputs, failures = table.check({}, {**news, "writeCapacity": 1.0}, "t", b"seed")
    assert inputs["billingMode"] == "PROVISIONED"
    assert inputs[DEFAULTS_KEY] == ["billingMode"]
    assert failures == []
    result = table.diff(inputs, {**inputs, "name": "T2"}, [])
    assert (result.changed, result.replaces, result.delete_before_replace) == ({"name": "UPDATE"}, ["name"], True)
    assert table.diff(inputs, {**inputs, "name": "T2"}, ["name"]).changed == {}
