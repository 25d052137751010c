"""The DynamoDB-JSON rules an item must follow for ImportTable to take it."""

from __future__ import annotations

import pytest

from migrator.core.dynamojson import item_problem

VALID = {
    "S": {"S": "text"},
    "empty S": {"S": ""},
    "N": {"N": "-12.50"},
    "N exponent": {"N": "1E+125"},
    "N 38 digits": {"N": "12345678901234567890123456789012345678"},
    "N zero with many digits": {"N": "0.000000000000000000000000000000000000000000000"},
    "B": {"B": "AAEC"},
    "BOOL": {"BOOL": False},
    "NULL": {"NULL": True},
    "SS": {"SS": ["a", "", "b"]},
    "NS": {"NS": ["1", "2.5"]},
    "BS": {"BS": ["AA==", "AQ=="]},
    "L": {"L": [{"S": "a"}, {"L": []}, {"M": {}}]},
    "M": {"M": {"k": {"N": "1"}, "": {"S": "empty key"}}},
}

INVALID = {
    "N not a number": ({"N": "abc"}, "'abc' is not a number"),
    "N as a JSON number": ({"N": 5}, "not given as text"),
    "N 39 digits": ({"N": "123456789012345678901234567890123456789"}, "38 significant digits"),
    "N too large": ({"N": "1E+126"}, "outside DynamoDB's number range"),
    "N too small": ({"N": "1E-131"}, "outside DynamoDB's number range"),
    "bare string": ("1", "is not an object"),
    "two types": ({"S": "a", "N": "1"}, "2 types (N, S)"),
    "no type": ({}, "0 types"),
    "unknown type": ({"Q": "1"}, "'Q' is not a DynamoDB type"),
    "S not text": ({"S": 1}, "string 1 is not text"),
    "B not base64": ({"B": "!!"}, "is not base64"),
    "BOOL text": ({"BOOL": "true"}, "is not true or false"),
    "NULL false": ({"NULL": False}, "is not true"),
    "empty SS": ({"SS": []}, "SS is empty"),
    "SS duplicate": ({"SS": ["a", "a"]}, "SS holds a member twice"),
    "NS duplicate by value": ({"NS": ["1", "1.0"]}, "NS holds a member twice"),
    "NS member": ({"NS": ["x"]}, "NS member: 'x' is not a number"),
    "SS not a list": ({"SS": "ab"}, "is not a list"),
    "L not a list": ({"L": "ab"}, "is not a list"),
    "M not an object": ({"M": []}, "is not an object"),
    "nested bad value": ({"M": {"Zip": {"N": "x"}}}, "attribute A.Zip: 'x' is not a number"),
    "nested in a list": ({"L": [{"S": "a"}, "b"]}, "attribute A[1]: value 'b' is not an object"),
    "map value not an object": ({"M": {"": "zz"}}, "attribute A.: value 'zz'"),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_values_pass(name: str) -> None:
    assert item_problem({"A": VALID[name]}) is None


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_values_are_named_with_their_attribute(name: str) -> None:
    value, said = INVALID[name]
    problem = item_problem({"Key": {"S": "k"}, "A": value})
    assert problem is not None and said in problem and "A" in problem


def test_an_item_that_is_not_an_object_and_an_empty_attribute_name() -> None:
    assert "is not an object" in (item_problem(["x"]) or "")
    assert "empty name" in (item_problem({"": {"S": "x"}}) or "")


def test_nesting_deeper_than_32_levels_is_refused() -> None:
    value: dict = {"S": "deep"}
    for _ in range(32):
        value = {"L": [value]}
    assert "nesting deeper than 32" in (item_problem({"A": value}) or "")


@pytest.mark.parametrize("name", sorted(INVALID))
def test_the_canonical_form_refuses_every_invalid_value_too(name: str) -> None:
    # verification relies on canonical_item to notice an invalid item; only then does it ask item_problem why
    from migrator.core.canonical import CanonicalError, canonical_item

    with pytest.raises(CanonicalError):
        canonical_item({"Key": {"S": "k"}, "A": INVALID[name][0]})


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_canonical_form_takes_every_valid_value(name: str) -> None:
    from migrator.core.canonical import canonical_item

    assert canonical_item({"A": VALID[name]})
