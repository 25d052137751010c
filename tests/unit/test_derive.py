"""migrator.core.derive: every expression, parse errors, rejects and hook loading (pure)."""

from __future__ import annotations

import base64
import sys
import types
import uuid

import pytest

from migrator.core.derive import (
    Copy,
    Deriver,
    Format,
    RejectError,
    Uuid5,
    attribute_text,
    evaluate,
    load_hook,
    parse_expression,
    parse_rules,
)
from migrator.core.errors import DeriveSyntaxError

OTHER_NS = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"


# --- parsing ----------------------------------------------------------------------------------


def test_copy_parses() -> None:
    rule = parse_expression("X", " Name ")
    assert rule.expression == Copy("Name") and str(rule) == "X=Name"
    assert rule.expression.sources == ("Name",) and rule.expression.result_type is None


def test_uuid5_parses_with_default_and_given_namespace() -> None:
    assert parse_expression("U", "uuid5(Name)").expression == Uuid5("Name", uuid.NAMESPACE_URL)
    rule = parse_expression("U", f"uuid5( Name , {OTHER_NS} )")
    assert rule.expression == Uuid5("Name", uuid.UUID(OTHER_NS)) and rule.expression.result_type == "S"


def test_format_parses_fields_in_order_with_either_quote() -> None:
    assert parse_expression("K", 'format("{A}#{B}")').expression == Format("{A}#{B}", ("A", "B"))
    assert parse_expression("K", "format('{B}-{{x}}-{A}')").expression.sources == ("B", "A")


@pytest.mark.parametrize(
    ("target", "text", "message"),
    [
        ("X", "md5(Name)", "does not parse"),
        ("X", "", "does not parse"),
        ("bad target", "Name", "not an attribute name"),
        ("X", "uuid5(Name, 0123456789abcdef0123456789abcdeg)", "does not parse"),
        ("X", 'format("{A!r}")', "not a plain attribute name"),
        ("X", 'format("{A:>3}")', "not a plain attribute name"),
        ("X", 'format("no fields")', "names no attribute"),
        ("X", 'format("{A")', "expected '}'"),
    ],
)
def test_bad_expressions_are_refused_with_a_hint(target: str, text: str, message: str) -> None:
    with pytest.raises(DeriveSyntaxError) as caught:
        parse_expression(target, text)
    assert message in caught.value.message and caught.value.hint and caught.value.exit_code == 2


def test_rules_from_cli_strings_and_from_config_keep_order() -> None:
    from_cli = parse_rules(["B=uuid5(Name)", "A=Name"])
    from_config = parse_rules({"B": "uuid5(Name)", "A": "Name"})
    assert [r.target for r in from_cli] == ["B", "A"] == [r.target for r in from_config]


def test_rule_without_equals_and_twice_set_target_are_refused() -> None:
    with pytest.raises(DeriveSyntaxError, match="has no '='"):
        parse_rules(["UUID"])
    with pytest.raises(DeriveSyntaxError, match="sets X twice"):
        parse_rules(["X=A", "X=B"])


# --- evaluating ---------------------------------------------------------------------------------


def test_uuid5_of_a_string_a_number_and_binary() -> None:
    raw = base64.b64encode(b"\x00\xff").decode()
    item = {"S1": {"S": "héllo"}, "N1": {"N": "10.50"}, "B1": {"B": raw}}
    assert evaluate(Uuid5("S1"), item) == {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "héllo"))}
    # a number's text is as stored, not normalised
    assert evaluate(Uuid5("N1"), item) == {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "10.50"))}
    assert evaluate(Uuid5("B1"), item) == {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, raw))}
    assert evaluate(Uuid5("S1", uuid.UUID(OTHER_NS)), item) == {"S": str(uuid.uuid5(uuid.UUID(OTHER_NS), "héllo"))}


def test_copy_keeps_any_type_and_format_joins_texts() -> None:
    item = {"M1": {"M": {"a": {"N": "1"}}}, "A": {"S": "x"}, "B": {"N": "2"}}
    assert evaluate(Copy("M1"), item) == {"M": {"a": {"N": "1"}}}
    assert evaluate(Format("{A}#{B}", ("A", "B")), item) == {"S": "x#2"}
    assert evaluate(parse_expression("K", 'format("{{{A}}}")').expression, item) == {"S": "{x}"}


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        (Copy("Gone"), "missing attribute Gone"),
        (Uuid5("Gone"), "missing attribute Gone"),
        (Format("{A}{Gone}", ("A", "Gone")), "missing attribute Gone"),
        (Uuid5("L1"), "attribute L1 is not S, N or B"),
        (Uuid5("Flag"), "attribute Flag is not S, N or B"),
    ],
)
def test_items_that_cannot_be_derived_are_rejects(expression, reason: str) -> None:
    item = {"A": {"S": "a"}, "L1": {"L": []}, "Flag": {"BOOL": True}}
    with pytest.raises(RejectError) as caught:
        evaluate(expression, item)
    assert caught.value.reason == reason


@pytest.mark.parametrize("value", [{}, {"S": "x", "N": "1"}, "plain", {"S": 5}, ["S"]])
def test_malformed_values_are_rejects_not_crashes(value) -> None:
    # Given an attribute that is not DynamoDB JSON (fixed: a plain string used to raise AttributeError)
    with pytest.raises(RejectError, match="is not S, N or B"):
        attribute_text({"A": value}, "A")


def test_format_fields_with_dots_and_digits_are_attribute_names() -> None:
    # Given attribute names that str.format would read as a lookup or a position (fixed: KeyError/IndexError)
    rule = parse_expression("K", 'format("{a.b}/{0}")')
    # Then they are substituted as names
    assert evaluate(rule.expression, {"a.b": {"S": "x"}, "0": {"N": "7"}}) == {"S": "x/7"}


def test_deriver_keeps_legacy_attributes_and_reads_rules_on_the_legacy_item() -> None:
    # Given rules where one target is also another rule's source
    deriver = Deriver(parse_rules(["Name=Other", "Copy=Name"]))
    # When applied
    new = deriver({"Name": {"S": "old"}, "Other": {"S": "o"}})
    # Then every rule saw the legacy item, whatever the order
    assert new == {"Name": {"S": "o"}, "Other": {"S": "o"}, "Copy": {"S": "old"}}
    assert not deriver.is_identity and Deriver().is_identity


# --- hooks ----------------------------------------------------------------------------------------


@pytest.fixture
def hook_module(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("derive_hooks_for_tests")

    def add_key(item):
        return {**item, "K": {"S": item["Name"]["S"].upper()}}

    def explode(item):
        raise ValueError("no good")

    def not_a_dict(item):
        return [item]

    module.add_key, module.explode, module.not_a_dict, module.VALUE = add_key, explode, not_a_dict, 3
    monkeypatch.setitem(sys.modules, "derive_hooks_for_tests", module)
    return "derive_hooks_for_tests"


def test_hook_runs_after_rules(hook_module: str) -> None:
    deriver = Deriver(parse_rules(["Name=Other"]), load_hook(f"{hook_module}:add_key"))
    assert deriver({"Other": {"S": "b"}})["K"] == {"S": "B"}


def test_hook_errors_and_bad_results_are_rejects(hook_module: str) -> None:
    with pytest.raises(RejectError, match="hook raised ValueError: no good"):
        Deriver(hook=load_hook(f"{hook_module}:explode"))({"Name": {"S": "a"}})
    with pytest.raises(RejectError, match="hook returned list"):
        Deriver(hook=load_hook(f"{hook_module}:not_a_dict"))({"Name": {"S": "a"}})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nocolon", "is not module:function"),
        (":f", "is not module:function"),
        ("m:", "is not module:function"),
        ("no_such_module_xyz:f", "cannot import no_such_module_xyz"),
        ("derive_hooks_for_tests:missing", "has no function missing"),
        ("derive_hooks_for_tests:VALUE", "has no function VALUE"),
    ],
)
def test_unusable_hooks_are_refused(hook_module: str, spec: str, message: str) -> None:
    with pytest.raises(DeriveSyntaxError) as caught:
        load_hook(spec)
    assert message in caught.value.message and caught.value.hint
