"""The transform never passes invalid DynamoDB JSON on to the import: such an item is a reject, with the reason.

Every path is tried, because the fast ones splice bytes without parsing the rest of the line: the
uuid5 batch (one rule whose target is the key), the byte-level splice (any other rules), the full
parse (lines with maps or escapes, and hooks).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from tests.unit.test_transform_core import line, run

GOOD = [{"Name": {"S": f"n{i}"}, "Count": {"N": str(i)}, "Tags": {"SS": ["a", "b"]}} for i in range(20)]
# raw lines, as a broken or hand-edited export may hold them (orjson would never write most of these)
BAD_LINES = {
    "N not a number": b'{"Item":{"Name":{"S":"bad"},"Count":{"N":"abc"}}}',
    "bare string value": b'{"Item":{"Name":{"S":"bad"},"Count":"1"}}',
    "two type keys": b'{"Item":{"Name":{"S":"bad"},"Count":{"S":"a","N":"1"}}}',
    "JSON number for N": b'{"Item":{"Name":{"S":"bad"},"Count":{"N":1}}}',
    "BOOL as text": b'{"Item":{"Name":{"S":"bad"},"Flag":{"BOOL":"yes"}}}',
    "unknown type": b'{"Item":{"Name":{"S":"bad"},"Count":{"Q":"1"}}}',
    "duplicate set member": b'{"Item":{"Name":{"S":"bad"},"Tags":{"SS":["a","a"]}}}',
    "empty set": b'{"Item":{"Name":{"S":"bad"},"Tags":{"SS":[]}}}',
    "bad base64": b'{"Item":{"Name":{"S":"bad"},"Pic":{"B":"not base64!"}}}',
    "bad value in a map": b'{"Item":{"Name":{"S":"bad"},"Addr":{"M":{"Zip":{"N":"x1"}}}}}',
    "bad value in a list": b'{"Item":{"Name":{"S":"bad"},"Hist":{"L":[{"N":"1"},"2"]}}}',
    "truncated line": b'{"Item":{"Name":{"S":"bad"},"Count":{"N":"1"}',
    "raw control character": b'{"Item":{"Name":{"S":"bad"},"Note":{"S":"tab\there"}}}',
}
PATHS = {
    "uuid5 batch": (("UUID=uuid5(Name)",), ("UUID",)),
    "byte splice": (("UUID=uuid5(Name)", "Copy=Name"), ("UUID",)),
    "copy rule": (("UUID=Name",), ("UUID",)),
    "format rule": (('UUID=format("{Name}#x")',), ("UUID",)),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("defect", sorted(BAD_LINES))
def test_an_invalid_item_is_a_reject_with_the_reason_on_every_path(tmp_path: Path, path: str, defect: str) -> None:
    # Given good lines around one invalid one
    rules, keys = PATHS[path]
    lines = [line(i) for i in GOOD[:10]] + [BAD_LINES[defect]] + [line(i) for i in GOOD[10:]]
    # When transformed
    items, rejects, _ = run(lines, rules, keys, tmp_path)
    # Then the invalid item is the one reject, with a reason, and every good item is written
    assert len(rejects) == 1, rejects
    assert "DynamoDB JSON" in rejects[0]["reason"] or "not JSON" in rejects[0]["reason"], rejects[0]
    assert sorted(i["Name"]["S"] for i in items) == sorted(i["Name"]["S"] for i in GOOD)


def test_the_reason_names_the_attribute_and_what_is_wrong(tmp_path: Path) -> None:
    _, rejects, _ = run([BAD_LINES["N not a number"]], ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    assert rejects[0]["reason"] == "not valid DynamoDB JSON: attribute Count: 'abc' is not a number"
    assert rejects[0]["item"]["Count"] == {"N": "abc"}


def test_an_empty_key_value_is_a_reject(tmp_path: Path) -> None:
    lines = [line({"Name": {"S": "a"}, "Other": {"S": ""}})]
    _, rejects, _ = run(lines, ("UUID=Other",), ("UUID",), tmp_path)
    assert [r["reason"] for r in rejects] == ["key attribute UUID is empty"]


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "invalid_json_hook.py").write_text(
        textwrap.dedent(
            """
            def bare_string(item):
                return {**item, "X": "1"}

            def bad_number(item):
                return {**item, "X": {"N": "one"}}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "invalid_json_hook"
    sys.modules.pop("invalid_json_hook", None)


@pytest.mark.parametrize(("function", "said"), [("bare_string", "value '1' is not an object"), ("bad_number", "'one'")])
def test_a_python_hook_returning_invalid_dynamodb_json_makes_rejects(
    tmp_path: Path, hook: str, function: str, said: str
) -> None:
    items, rejects, _ = run([line(i) for i in GOOD[:3]], (), ("Name",), tmp_path, hook=f"{hook}:{function}")
    assert items == [] and len(rejects) == 3
    assert all(r["reason"].startswith("the --python hook returned invalid DynamoDB JSON") for r in rejects)
    assert said in rejects[0]["reason"] and "attribute X" in rejects[0]["reason"]


def test_valid_lines_of_every_type_still_take_the_batch_path_unchanged(tmp_path: Path) -> None:
    # the validation must not send valid lines elsewhere: the batch output keeps each line's bytes
    from tests.unit.test_transform_core import ALL_TYPES

    plain = {k: v for k, v in ALL_TYPES.items() if k != "Quote"}  # an escape takes the full path by design
    lines = [line({"Name": {"S": f"n{i}"}, **plain}) for i in range(5)]
    items, rejects, raw = run(lines, ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    assert rejects == [] and len(items) == 5
    assert all(orjson.dumps(plain)[1:-1] in raw for _ in range(1))
