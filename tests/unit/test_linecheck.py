"""The byte grammar of the fast transform paths accepts only valid DynamoDB JSON.

The property that matters: whatever the grammar accepts parses and passes the full rules of
:mod:`migrator.core.dynamojson`. It is tried on valid lines of every type and on thousands of
random one-byte corruptions of them (seeded, so a failure reproduces).
"""

from __future__ import annotations

import base64
import random

import orjson
import pytest

from migrator.core.dynamojson import item_problem
from migrator.data.transform.linecheck import source_attribute, valid_line

VALID_ITEMS = [
    {"Name": {"S": "a"}, "Count": {"N": "-12.5"}, "Flag": {"BOOL": True}, "Gone": {"NULL": True}},
    {"Name": {"S": ""}, "Pic": {"B": base64.b64encode(b"\x00\x01\xfe").decode()}, "Tags": {"SS": ["x", "", "y"]}},
    {"Name": {"S": "Zürich 東京"}, "Nums": {"NS": ["1", "2.5", "-0.001", "0"]}, "Bins": {"BS": ["AA==", "AQ=="]}},
    {"Name": {"S": "m"}, "Addr": {"M": {"Zip": {"N": "1"}, "": {"S": "k"}, "Lines": {"L": [{"S": "a"}, {"N": "2"}]}}}},
    {"Name": {"S": "l"}, "Hist": {"L": []}, "Empty": {"M": {}}, "Nested": {"L": [{"M": {"a": {"SS": ["q"]}}}]}},
]


def parses_valid(line: bytes) -> bool:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and list(document) == ["Item"] and item_problem(document["Item"]) is None


@pytest.mark.parametrize("item", VALID_ITEMS, ids=range(len(VALID_ITEMS)))
def test_valid_lines_of_every_type_are_accepted(item: dict) -> None:
    assert valid_line(orjson.dumps({"Item": item}))


@pytest.mark.parametrize(
    "line",
    [
        b'{"Item":{"A":{"N":"abc"}}}',
        b'{"Item":{"A":"1"}}',
        b'{"Item":{"A":{"S":"a","N":"1"}}}',
        b'{"Item":{"A":{"SS":["a","b","a"]}}}',
        b'{"Item":{"A":{"NS":["1","1.0"]}}}',
        b'{"Item":{"A":{"BS":["QQ==","QR=="]}}}',
        b'{"Item":{"A":{"SS":[]}}}',
        b'{"Item":{"A":{"N":"123456789012345678901234567890123456789"}}}',
        b'{"Item":{"A":{"S":"a"}}',
        b'{"Item":{"A":{"S":"tab\there"}}}',
        b'{"Item":{"A":{"S":"esc\\"aped"}}}',
        b'{"Item":{"":{"S":"a"}}}',
        b'{"Item":{}}',
    ],
)
def test_invalid_or_unusual_lines_are_left_to_the_full_parse(line: bytes) -> None:
    assert not valid_line(line)


def test_whatever_the_grammar_accepts_is_valid_dynamodb_json_under_random_corruption() -> None:
    rng = random.Random(20261202)
    alphabet = b'"{}[],:0123456789.-+eESNBLMabcxyz=/ \t\n'
    accepted = 0
    for _ in range(4000):
        line = bytearray(orjson.dumps({"Item": rng.choice(VALID_ITEMS)}))
        at = rng.randrange(len(line))
        action = rng.randrange(3)
        if action == 0:
            line[at] = rng.choice(alphabet)
        elif action == 1:
            del line[at]
        else:
            line.insert(at, rng.choice(alphabet))
        if valid_line(bytes(line)):
            accepted += 1
            assert parses_valid(bytes(line)), bytes(line)
    assert accepted > 100  # the corruptions that stay valid (a letter for a letter) are accepted too


def test_source_attribute_reads_the_top_level_value_not_a_nested_one() -> None:
    line = orjson.dumps({"Item": {"M1": {"M": {"Name": {"S": "inner"}}}, "Name": {"S": "outer"}}})
    pieces = source_attribute(b'"Name"').split(line)
    assert len(pieces) == 6 and pieces[2:4] == [b"S", b"outer"] and pieces[0] == pieces[-1] == b""
