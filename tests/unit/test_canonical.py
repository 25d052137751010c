"""Canonical form of DynamoDB-JSON items: what counts as equal and what does not."""

from __future__ import annotations

import pytest

from migrator.core.canonical import (
    CanonicalError,
    canonical_item,
    canonical_value,
    item_digest,
    item_key,
    key_bytes,
    normalize_binary,
    normalize_number,
)


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (["1", "1.0", "1e0", "01", "+1", "1.000", "0.1e1", "10E-1"], "1"),
        (["0", "-0", "0.0", "0e5", "-0.000"], "0"),
        (["-1.5", "-1.50", "-15e-1", "-0015E-1"], "-1.5"),
        (["100", "1e2", "1E+2", "100.00"], "100"),
        (["0.001", "1e-3", ".001"], "0.001"),
        (["12345678901234567890123456789012345678"], "12345678901234567890123456789012345678"),
    ],
)
def test_number_spellings_are_one_number(spellings, canonical):
    assert {normalize_number(s) for s in spellings} == {canonical}


def test_numbers_keep_all_38_digits():
    assert normalize_number("1.2345678901234567890123456789012345678") == "1.2345678901234567890123456789012345678"
    assert normalize_number("1.2345678901234567890123456789012345678") != normalize_number(
        "1.2345678901234567890123456789012345679"
    )


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", "1..2"])
def test_bad_numbers_are_errors(bad):
    with pytest.raises(CanonicalError):
        normalize_number(bad)


def test_binary_spellings_are_one_value():
    # "\xfb\xff" is "+/8=" in standard base64, "-_8" URL-safe without padding
    assert {normalize_binary(v) for v in ("+/8=", "+/8", "-_8=", "-_8", " +/ 8=\n", b"\xfb\xff")} == {"+/8="}
    assert normalize_binary("AAE=") != normalize_binary("AAI=")


def test_bad_base64_is_an_error():
    with pytest.raises(CanonicalError):
        normalize_binary("not base64!")


def test_attribute_and_map_order_do_not_matter():
    a = {"A": {"S": "x"}, "M": {"M": {"p": {"N": "1"}, "q": {"BOOL": True}}}}
    b = {"M": {"M": {"q": {"BOOL": True}, "p": {"N": "1.0"}}}, "A": {"S": "x"}}
    assert canonical_item(a) == canonical_item(b)
    assert item_digest(a) == item_digest(b)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"SS": ["b", "a", "c"]}, {"SS": ["c", "a", "b"]}),
        ({"NS": ["2", "1.0", "10"]}, {"NS": ["1", "10", "2.00"]}),
        ({"BS": ["AQ==", "Ag"]}, {"BS": [b"\x02", b"\x01"]}),
        ({"B": "AAE"}, {"B": b"\x00\x01"}),
        (
            {"L": [{"N": "1e0"}, {"M": {"b": {"S": "y"}, "a": {"NULL": True}}}]},
            {"L": [{"N": "1"}, {"M": {"a": {"NULL": True}, "b": {"S": "y"}}}]},
        ),
        ({"M": {}}, {"M": {}}),
    ],
)
def test_equal_values(left, right):
    assert canonical_value(left) == canonical_value(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"S": "1"}, {"N": "1"}),  # types count
        ({"S": "a"}, {"S": "A"}),
        ({"S": ""}, {"NULL": True}),
        ({"N": "1"}, {"N": "1.0000000000000000000000000000000000001"}),
        ({"B": "AAE="}, {"S": "AAE="}),
        ({"BOOL": True}, {"BOOL": False}),
        ({"BOOL": False}, {"NULL": True}),
        ({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]}),  # list order counts
        ({"L": []}, {"M": {}}),
        ({"SS": ["1"]}, {"NS": ["1"]}),
        ({"SS": ["a"]}, {"L": [{"S": "a"}]}),
        ({"BS": ["AQ=="]}, {"B": "AQ=="}),
        ({"M": {"a": {"N": "1"}}}, {"M": {"a": {"N": "2"}}}),
        ({"M": {"a": {"N": "1"}}}, {"M": {"b": {"N": "1"}}}),
        ({"M": {"deep": {"L": [{"BS": ["AQ=="]}]}}}, {"M": {"deep": {"L": [{"BS": ["Ag=="]}]}}}),
    ],
)
def test_different_values(left, right):
    assert canonical_value(left) != canonical_value(right)


def test_a_missing_or_extra_attribute_changes_the_item():
    item = {"K": {"S": "k"}, "V": {"N": "1"}}
    assert item_digest(item) != item_digest({"K": {"S": "k"}})
    assert item_digest(item) != item_digest({**item, "W": {"NULL": True}})


def test_unknown_type_is_an_error():
    with pytest.raises(CanonicalError):
        canonical_value({"X": "1"})
    with pytest.raises(CanonicalError):
        canonical_value({"S": "a", "N": "1"})


def test_item_key_is_plain_json_in_key_schema_order():
    item = {"Sk": {"N": "10.0"}, "Pk": {"S": "user"}, "Bin": {"B": "AAE"}, "Other": {"S": "x"}}
    assert item_key(item, ("Pk", "Sk")) == {"Pk": "user", "Sk": "10"}
    assert list(item_key(item, ("Sk", "Pk"))) == ["Sk", "Pk"]
    assert item_key(item, ("Bin",)) == {"Bin": "AAE="}
    assert key_bytes(item, ("Pk", "Sk")) == key_bytes({"Pk": {"S": "user"}, "Sk": {"N": "1e1"}}, ("Pk", "Sk"))


def test_item_key_needs_every_key_attribute_as_a_scalar():
    with pytest.raises(CanonicalError, match="key UUID: missing"):
        item_key({"Name": {"S": "a"}}, ("UUID",))
    with pytest.raises(CanonicalError, match="key Tags"):
        item_key({"Tags": {"SS": ["a"]}}, ("Tags",))
