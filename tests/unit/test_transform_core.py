"""The per-line rewriting on local bytes: splice and batch paths agree with the Deriver, rejects, fallbacks."""

from __future__ import annotations

import base64
import gzip
import io
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrator.core.derive import Deriver, parse_rules
from migrator.data.transform import lines as transform_core
from migrator.data.transform.batch import stamp, uuid_digests
from migrator.data.transform.dupes import DigestSpill, canonical_key, find_duplicates, key_digest
from migrator.data.transform.lines import DeriverSpec, LineRewriter, fast_uuid5, transform_stream

B64 = base64.b64encode(b"\x00\x01\xfe\xff").decode()
ALL_TYPES: dict[str, Any] = {
    "Str": {"S": "plain"},
    "Empty": {"S": ""},
    "Uni": {"S": "Zürich 東京 🚀"},
    "Quote": {"S": 'say "hi"\n\ttab \\ back'},
    "Num": {"N": "-12.500"},
    "Bin": {"B": B64},
    "SS": {"SS": ["a", "b"]},
    "NS": {"NS": ["1", "2.5"]},
    "BS": {"BS": [B64]},
    "Null": {"NULL": True},
    "Bool": {"BOOL": False},
    "List": {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {}}]},
    "Map": {"M": {"inner": {"M": {"deep": {"SS": ["z"]}}}, "list": {"L": [{"BOOL": True}]}}},
}


def line(item: dict[str, Any]) -> bytes:
    return orjson.dumps({"Item": item})


def run(
    lines: list[bytes], rules: tuple[str, ...], keys: tuple[str, ...], tmp: Path, hook: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    """Transform the lines as one gzip file; return the new items, the rejects, and the raw output."""
    spec = DeriverSpec(rules, hook)
    out, rejects = io.BytesIO(), io.BytesIO()
    spill = DigestSpill(tmp, "t")
    counts = transform_stream(
        io.BytesIO(gzip.compress(b"\n".join(lines) + b"\n")), out, rejects, spill, LineRewriter(spec.build(), keys)
    )
    spill.close()
    raw = gzip.decompress(out.getvalue())
    items = [orjson.loads(x)["Item"] for x in raw.splitlines() if x]
    rejected = [orjson.loads(x) for x in rejects.getvalue().splitlines()]
    assert (counts.items_out, counts.rejects) == (len(items), len(rejected))
    assert counts.items_in == sum(1 for x in lines if x.strip())
    return items, rejected, raw


def expected(items: list[dict[str, Any]], rules: tuple[str, ...]) -> list[dict[str, Any]]:
    return [Deriver(parse_rules(rules))(i) for i in items]


def by(key: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: orjson.dumps(i[key]))


@pytest.mark.parametrize(
    ("rules", "keys"),
    [
        (("UUID=uuid5(Name)",), ("UUID",)),  # the batch path
        ((f"UUID=uuid5(Name, {uuid.NAMESPACE_DNS})",), ("UUID",)),
        (("UUID=uuid5(Name)",), ("UUID", "Num")),  # line by line: a kept attribute in the key
        (("PK=Name", 'SK=format("{Name}#{Num}")'), ("PK", "SK")),
        (("K=uuid5(Num)", "Copy=Bin"), ("K",)),
    ],
)
def test_every_type_comes_through_as_the_deriver_makes_it(tmp_path: Path, rules, keys) -> None:
    # Given items of every DynamoDB type, unicode and escapes, the source before and after a map
    # (most lines hold no map and no backslash, so they take the batch or the byte-level path)
    items = []
    for n in range(40):
        base = {**ALL_TYPES, "Num": {"N": str(n)}}
        if n % 4:
            base = {k: v for k, v in base.items() if k not in ("Quote", "Map")}
        item = {"Name": {"S": f"n-{n}-é"}, **base} if n % 2 else {**base, "Name": {"S": f"n-{n}"}}
        if n % 3 == 0:
            item.pop("List")
        items.append(item)
    # When transformed
    got, rejects, raw = run([line(i) for i in items], rules, keys, tmp_path)
    # Then each item is what the Deriver gives, the output is plain UTF-8, and no key appears twice
    assert rejects == []
    key = rules[0].partition("=")[0]
    assert by(key, got) == by(key, expected(items, rules))
    assert b"\\u" not in raw and "東京".encode() in raw
    for out_line in raw.splitlines():
        assert out_line.count(b'"' + key.encode() + b'":') == 1


def test_escaped_unicode_in_the_input_is_written_as_plain_utf8(tmp_path: Path) -> None:
    # Given a line with \u escapes (as some writers produce)
    text = b'{"Item":{"Name":{"S":"caf\\u00e9"},"X":{"S":"\\u6771"}}}'
    got, _, raw = run([text], ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    assert got == [
        {"Name": {"S": "café"}, "X": {"S": "東"}, "UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "café"))}}
    ]
    assert b"\\u" not in raw


def test_existing_target_is_replaced_not_duplicated(tmp_path: Path) -> None:
    # Given items that already hold the target attribute
    items = [{"Name": {"S": "a"}, "UUID": {"S": "old"}}, {"UUID": {"N": "1"}, "Name": {"S": "b"}}]
    got, _, raw = run([line(i) for i in items], ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    # Then the derived value wins and the key appears once per line
    assert by("UUID", got) == by("UUID", expected(items, ("UUID=uuid5(Name)",)))
    assert all(x.count(b'"UUID":') == 1 for x in raw.splitlines())


def test_a_nested_source_is_not_taken_for_the_top_level_one(tmp_path: Path) -> None:
    # Given one item whose only Name is inside a map, and one with Name nested and at the top
    nested_only = {"Meta": {"M": {"Name": {"S": "inner"}}}, "Id": {"S": "1"}}
    both = {"Meta": {"M": {"Name": {"S": "inner"}}}, "Name": {"S": "top"}}
    plain = [{"Name": {"S": f"p{n}"}} for n in range(5)]
    got, rejects, _ = run([line(i) for i in [nested_only, both, *plain]], ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    # Then the first is a reject and the second derives from the top-level Name
    assert [r["reason"] for r in rejects] == ["missing attribute Name"] and rejects[0]["item"] == nested_only
    assert {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "top"))}, **both} in got
    assert len(got) == 6


def test_rejects_carry_reason_and_item(tmp_path: Path) -> None:
    # Given lines that cannot be transformed, among good ones
    lines = [
        line({"Name": {"S": "ok"}}),
        line({"Other": {"S": "x"}}),
        line({"Name": {"BOOL": True}}),
        b"not json",
        b'{"Nope":{}}',
        b"",
        b"   ",
        line({"Name": {"S": "ok2"}}),
    ]
    got, rejects, _ = run(lines, ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    # Then the good ones are written, blank lines skipped, and every reject says why
    assert sorted(i["Name"]["S"] for i in got) == ["ok", "ok2"]
    reasons = [r["reason"] for r in rejects]
    assert reasons[:2] == ["missing attribute Name", "attribute Name is not S, N or B"]
    assert reasons[2].startswith("line is not JSON") and rejects[2]["item"] == "not json"
    assert reasons[3] == 'line has no "Item" object'


def test_missing_key_attribute_after_derive_is_a_reject(tmp_path: Path) -> None:
    items = [{"Name": {"S": "a"}}, {"Name": {"S": "b"}, "Sort": {"N": "1"}}, {"Name": {"S": "c"}, "Sort": {"L": []}}]
    got, rejects, _ = run([line(i) for i in items], ("UUID=uuid5(Name)",), ("UUID", "Sort"), tmp_path)
    assert [i["Name"]["S"] for i in got] == ["b"]
    assert [r["reason"] for r in rejects] == ["missing key attribute Sort", "key attribute Sort is not S, N or B"]


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("transform_hooks_for_tests")

    def upper(item):
        if item["Name"]["S"] == "boom":
            raise RuntimeError("bad item")
        return {**item, "PK": {"S": item["Name"]["S"].upper()}}

    module.upper = upper
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


def test_hook_items_are_reserialised_and_hook_errors_are_rejects(tmp_path: Path, hooks: str) -> None:
    items = [{"Name": {"S": "a"}}, {"Name": {"S": "boom"}}]
    got, rejects, _ = run([line(i) for i in items], (), ("PK",), tmp_path, hook=f"{hooks}:upper")
    assert got == [{"Name": {"S": "a"}, "PK": {"S": "A"}}]
    assert rejects == [{"reason": "hook raised RuntimeError: bad item", "item": {"Name": {"S": "boom"}}}]


def test_identity_keeps_lines_as_they_are(tmp_path: Path) -> None:
    lines = [line({"Name": {"S": f"x{n}"}, "M1": {"M": {"a": {"S": "b"}}}}) for n in range(3)]
    _, _, raw = run(lines, (), ("Name",), tmp_path)
    assert raw.splitlines() == lines


def test_lines_split_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given reads far smaller than a line
    monkeypatch.setattr(transform_core, "READ_CHUNK", 7)
    items = [{"Name": {"S": f"name-{n}"}, "Pad": {"S": "x" * n}} for n in range(30)]
    got, _, _ = run([line(i) for i in items], ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    assert by("UUID", got) == by("UUID", expected(items, ("UUID=uuid5(Name)",)))


@pytest.mark.parametrize("name", ["", "a", "user-1", "é東🚀", "x" * 300])
def test_fast_uuid5_is_uuid5(name: str) -> None:
    for ns in (uuid.NAMESPACE_URL, uuid.NAMESPACE_DNS, uuid.uuid4()):
        assert fast_uuid5(ns.bytes, name.encode()) == str(uuid.uuid5(ns, name))


def test_stamp_lays_out_uuid5_texts() -> None:
    import hashlib

    names = [b"a", b"b", b"c"]
    hexes = b"".join(hashlib.sha1(uuid.NAMESPACE_URL.bytes + n).hexdigest().encode() for n in names)
    made = b"".join(f"<{uuid.uuid5(uuid.NAMESPACE_URL, n.decode())}>\n".encode() for n in names)
    assert stamp(hexes, 3, b"<", b">") == made


def test_batch_digests_are_the_key_digests_of_its_keys() -> None:
    import hashlib

    names = [f"n{n}".encode() for n in range(50)]
    digests = b"".join(hashlib.sha1(uuid.NAMESPACE_URL.bytes + n).digest() for n in names)
    keys = [canonical_key((("S", str(uuid.uuid5(uuid.NAMESPACE_URL, n.decode()))),)) for n in names]
    assert uuid_digests(digests, len(names)) == [key_digest(k) for k in keys]
    assert len(set(uuid_digests(digests, len(names)))) == len(names)


# --- the duplicate check ------------------------------------------------------------------------


def test_duplicates_across_files_are_found_with_samples(tmp_path: Path) -> None:
    # Given two files whose items share a key (a number written two ways counts as one)
    first, _, _ = run([line({"Name": {"S": "a"}, "K": {"N": "1.0"}})], ("PK=K",), ("PK",), tmp_path)
    spill = DigestSpill(tmp_path, "second")
    rewriter = LineRewriter(DeriverSpec(("PK=K",)).build(), ("PK",))
    spill.add_many(rewriter.rewrite_chunk(line({"Name": {"S": "b"}, "K": {"N": "1"}})).keys)
    spill.close()
    # When checked
    report = find_duplicates(tmp_path)
    # Then the key is reported once, as canonical bytes
    assert report.duplicate_keys == 1 and report.samples == (b'[["N","1"]]',)


def test_no_duplicates_when_keys_differ(tmp_path: Path) -> None:
    run([line({"Name": {"S": f"n{n}"}}) for n in range(200)], ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    assert not find_duplicates(tmp_path).found


def test_oversized_partitions_are_split_and_still_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given partitions far larger than allowed in memory
    from migrator.data.transform import dupes

    monkeypatch.setattr(dupes, "MAX_PARTITION_BYTES", 64)
    names = [f"n{n}" for n in range(3000)] + ["n7", "n2999"]
    run([line({"Name": {"S": n}}) for n in names], ("UUID=Name",), ("UUID",), tmp_path)
    # When checked, the split path runs, and finds exactly the two duplicates
    report = find_duplicates(tmp_path)
    assert report.duplicate_keys == 2
    assert sorted(report.samples) == [b'[["S","n2999"]]', b'[["S","n7"]]']


def test_a_partition_too_large_to_hold_is_split_until_it_fits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given room for one digest per partition, and 40 keys of which two are written twice
    from migrator.data.transform import dupes

    monkeypatch.setattr(dupes, "MAX_PARTITION_BYTES", dupes.DIGEST_SIZE)
    splits: list[int] = []
    real_split = dupes._split

    def split(paths: list[Path], depth: int, candidates: set[int], workdir: Path) -> None:
        splits.append(depth)
        real_split(paths, depth, candidates, workdir)

    monkeypatch.setattr(dupes, "_split", split)
    keys = [canonical_key((("S", f"k{n}"),)) for n in range(40)]
    spill = DigestSpill(tmp_path, "t")
    spill.add_many([*keys, keys[3], keys[39]])
    spill.close()

    # When checked, then partitions were split (a duplicate's two equal digests down to the depth limit)
    report = find_duplicates(tmp_path)
    assert (report.duplicate_keys, sorted(report.samples)) == (2, [b'[["S","k3"]]', b'[["S","k39"]]'])
    assert 0 in splits and max(splits) == 5


def test_same_uuid_key_from_the_batch_and_the_full_path_is_a_duplicate(tmp_path: Path) -> None:
    # Given one Name twice: once on a plain line (batch), once on a line with a map (full path)
    lines = [line({"Name": {"S": "dup"}}), line({"M1": {"M": {}}, "Name": {"S": "dup"}, "X": {"S": "q\\"}})]
    lines += [line({"Name": {"S": f"u{n}"}}) for n in range(20)]
    run(lines, ("UUID=uuid5(Name)",), ("UUID",), tmp_path)
    # Then the check finds it, named as plain JSON
    report = find_duplicates(tmp_path)
    assert report.duplicate_keys == 1
    assert report.samples == (canonical_key((("S", str(uuid.uuid5(uuid.NAMESPACE_URL, "dup"))),)),)


def test_digest_collisions_are_not_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every key digesting to one value (a collision for each pair)
    from migrator.data.transform import dupes

    monkeypatch.setattr(dupes, "key_digest", lambda canonical: 42)
    run([line({"Name": {"S": f"k{n}"}}) for n in range(10)], ("PK=Name",), ("PK",), tmp_path)
    # Then the canonical keys decide: no duplicates
    assert not find_duplicates(tmp_path).found
