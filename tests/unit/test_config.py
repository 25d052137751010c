"""The stack config parser (migrator/config.py): the typed result, and every error naming key and fix."""

from __future__ import annotations

import json
import uuid

import pytest

from migrator.core.config import ImportSource, KeyAttribute, parse_config, parse_stage, record_table
from migrator.core.derive import Copy, Uuid5
from migrator.core.errors import ConfigError

LEGACY = {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}, "ttlAttribute": "ExpiresAt"}
NEW = {"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "S"}, "ttlAttribute": "ExpiresAt"}
SOURCE = {"bucket": "b", "keyPrefix": "p/data/", "compression": "GZIP", "itemCount": 3}


def full(**changes):
    values = {
        "stage": "2",
        "legacyTable": LEGACY,
        "newTable": NEW,
        "derive": {"UUID": "uuid5(Name)"},
        "importSource": SOURCE,
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def error(values, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(values, **kwargs)
    assert caught.value.exit_code == 2
    return caught.value


# --- what a good config gives ------------------------------------------------------------------


def test_full_config_is_typed():
    config = parse_config(full(exportBucket="my-bucket", endpoint="http://127.0.0.1:5000"), region="eu-west-1")
    assert config.stage == 2
    assert config.stage_name == "dual"
    assert config.legacy.name == "MyTable"
    assert config.legacy.partition_key == KeyAttribute("Name", "S")
    assert config.legacy.ttl_attribute == "ExpiresAt"
    assert config.new is not None and config.new.key_names == ("UUID",)
    assert [(r.target, r.expression) for r in config.derive] == [("UUID", Uuid5("Name", uuid.NAMESPACE_URL))]
    assert config.import_source == ImportSource("b", "p/data/", "GZIP", 3)
    assert config.export_bucket == "my-bucket"
    assert config.endpoint == "http://127.0.0.1:5000"
    assert config.region == "eu-west-1"
    assert config.needs_transform is True


def test_objects_may_arrive_as_json_text_with_full_keys():
    # Given config as the Pulumi CLI hands it to a program: namespaced keys, objects as JSON text.
    values = {f"table-migration:{k}": json.dumps(v) if isinstance(v, dict) else v for k, v in full().items()}
    values["aws:region"] = "us-west-2"
    values["other:thing"] = "ignored"
    config = parse_config(values)
    assert config.legacy.partition_key == KeyAttribute("Name", "S")
    assert config.import_source == ImportSource("b", "p/data/", "GZIP", 3)
    assert config.region == "us-west-2"


def test_sort_key_and_defaults():
    legacy = {**LEGACY, "sortKey": {"name": "Created", "type": "N"}}
    config = parse_config({"legacyTable": legacy})
    assert config.stage == 0
    assert config.new is None and config.import_source is None and config.derive == ()
    assert config.legacy.key_attributes == (KeyAttribute("Name", "S"), KeyAttribute("Created", "N"))
    assert config.export_bucket is None and config.endpoint is None


def test_rename_with_the_same_keys_needs_no_transform():
    config = parse_config(full(newTable={**NEW, "partitionKey": {"name": "Name", "type": "S"}}, derive=None))
    assert config.needs_transform is False


def test_import_source_round_trips_through_config():
    source = ImportSource("b", "p/data/", "ZSTD", 7)
    assert parse_config(full(importSource=source.to_config())).import_source == source


def test_import_source_compression_defaults_to_gzip_and_is_case_blind():
    assert parse_config(full(importSource={"bucket": "b", "keyPrefix": "p/"})).import_source.compression == "GZIP"
    assert parse_config(full(importSource={**SOURCE, "compression": "zstd"})).import_source.compression == "ZSTD"


def test_copy_derive_into_a_number_key_is_allowed():
    new = {**NEW, "partitionKey": {"name": "Id", "type": "N"}}
    config = parse_config(full(newTable=new, derive={"Id": "Legacy"}))
    assert config.derive[0].expression == Copy("Legacy")


@pytest.mark.parametrize(("raw", "stage"), [("0", 0), ("4", 4), (3, 3), (" 1 ", 1)])
def test_stage_values(raw, stage):
    assert parse_stage(raw) == stage


# --- every error names its key and the fix -----------------------------------------------------


@pytest.mark.parametrize("raw", ["5", "x", "-1", "1.5", "", True, 7])
def test_stage_outside_0_to_4_or_not_a_number(raw):
    e = error(full(stage=raw))
    assert e.key == "table-migration:stage"
    assert "is not a stage 0..4" in str(e)
    assert "pulumi config set table-migration:stage 0" in str(e)


def test_legacy_table_missing():
    e = error({"stage": "0"})
    assert e.key == "table-migration:legacyTable"
    assert "is missing" in str(e) and "Pulumi.<stack>.yaml" in str(e)


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"MyTable"', 5])
def test_legacy_table_not_an_object(raw):
    e = error({"legacyTable": raw})
    assert e.key == "table-migration:legacyTable"
    assert "is not an object" in str(e)


@pytest.mark.parametrize("name", ["", "ab", "My Table", None, "x" * 256, "MyTable\n"])
def test_bad_table_name(name):
    e = error({"legacyTable": {**LEGACY, "name": name}})
    assert e.key == "table-migration:legacyTable.name"
    assert "3-255 letters" in str(e)


def test_partition_key_missing():
    e = error({"legacyTable": {"name": "MyTable"}})
    assert e.key == "table-migration:legacyTable.partitionKey"
    assert "{name: Attr, type: S}" in str(e)


@pytest.mark.parametrize("name", ["", "  ", None])
def test_partition_key_name_missing(name):
    e = error({"legacyTable": {**LEGACY, "partitionKey": {"name": name, "type": "S"}}})
    assert e.key == "table-migration:legacyTable.partitionKey.name"
    assert "Name the key attribute" in str(e)


@pytest.mark.parametrize("kind", ["X", "s", "", "SS"])
def test_key_type_not_s_n_b(kind):
    e = error({"legacyTable": {**LEGACY, "partitionKey": {"name": "Name", "type": kind}}})
    assert e.key == "table-migration:legacyTable.partitionKey.type"
    assert "Use S, N or B" in str(e)


def test_sort_key_type_of_new_table():
    e = error(full(newTable={**NEW, "sortKey": {"name": "Created", "type": "BOOL"}}))
    assert e.key == "table-migration:newTable.sortKey.type"


@pytest.mark.parametrize("stage", ["1", "2", "3", "4"])
def test_new_table_missing_from_stage_1(stage):
    e = error(full(stage=stage, newTable=None))
    assert e.key == "table-migration:newTable"
    assert "Stages 1..4 need the new table" in str(e)


def test_new_table_with_the_legacy_name():
    e = error(full(newTable={**NEW, "name": "MyTable"}))
    assert e.key == "table-migration:newTable.name"
    assert "name of its own" in str(e)


@pytest.mark.parametrize("stage", ["2", "3", "4"])
def test_import_source_missing_from_stage_2(stage):
    e = error(full(stage=stage, importSource=None))
    assert e.key == "table-migration:importSource"
    assert "migrate up --stage 1" in str(e)


@pytest.mark.parametrize("source", [{"bucket": "b"}, {"keyPrefix": "p/"}, {"bucket": "", "keyPrefix": "p/"}])
def test_import_source_without_bucket_or_prefix(source):
    e = error(full(importSource=source))
    assert e.key == "table-migration:importSource"
    assert "needs bucket and keyPrefix" in str(e)


def test_import_source_bad_compression():
    e = error(full(importSource={**SOURCE, "compression": "BZIP2"}))
    assert e.key == "table-migration:importSource.compression"
    assert "GZIP, ZSTD, NONE" in str(e)


@pytest.mark.parametrize("count", ["many", "1.5", -1])
def test_import_source_bad_item_count(count):
    e = error(full(importSource={**SOURCE, "itemCount": count}))
    assert e.key == "table-migration:importSource.itemCount"
    assert "whole number" in str(e)


@pytest.mark.parametrize(
    "derive",
    [
        {"UUID": "md5(Name)"},
        {"UUID": "uuid5(Name, not-a-uuid-at-all-not-a-uuid-xx)"},
        {"UUID": 'format("{A!r}")'},
        {"UUID": 'format("no fields")'},
        {"UUID": "Na me"},
        {"U U": "Name"},
    ],
)
def test_derive_that_does_not_parse(derive):
    e = error(full(derive=derive))
    assert e.key == "table-migration:derive"
    assert "Use X=Y" in str(e) or "namespace as a UUID" in str(e)


def test_derive_string_into_a_number_key():
    e = error(full(newTable={**NEW, "partitionKey": {"name": "UUID", "type": "N"}}))
    assert e.key == "table-migration:derive.UUID"
    assert "type N" in str(e) and "Make that key attribute type S" in str(e)


def test_derive_not_an_object():
    e = error(full(derive='["UUID=uuid5(Name)"]'))
    assert e.key == "table-migration:derive"


@pytest.mark.parametrize("bucket", ["My_Bucket", "ab", "-bucket", "a" * 64, "my-bucket\n"])
def test_bad_export_bucket(bucket):
    e = error(full(exportBucket=bucket))
    assert e.key == "table-migration:exportBucket"
    assert "leave it unset" in str(e)


@pytest.mark.parametrize("endpoint", ["localhost:5000", "ftp://host", "http://"])
def test_bad_endpoint(endpoint):
    e = error(full(endpoint=endpoint))
    assert e.key == "table-migration:endpoint"
    assert "http://127.0.0.1:5000" in str(e)


def test_error_message_is_key_problem_and_fix():
    e = error(full(stage="9"))
    assert str(e) == (
        "Config table-migration:stage: '9' is not a stage 0..4. "
        "Set it with `pulumi config set table-migration:stage 0` (or let `migrate up` set it)."
    )


def test_adopt_new_table_names_the_new_table_or_is_refused() -> None:
    from migrator.core.config import parse_config as parse

    base = {
        "stage": "2",
        "legacyTable": {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}},
        "newTable": {"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "S"}},
        "derive": {"UUID": "uuid5(Name)"},
        "importSource": {"bucket": "b", "keyPrefix": "p/data/", "compression": "GZIP", "itemCount": 1},
    }
    assert parse({**base, "adoptNewTable": "MyNewTable"}).adopt_new_table == "MyNewTable"
    assert parse(base).adopt_new_table is None
    with pytest.raises(ConfigError) as caught:
        parse({**base, "adoptNewTable": "MyTable"})
    assert "table-migration:adoptNewTable" in str(caught.value) and "pulumi config rm" in str(caught.value)


# --- bounds AWS sets, checked before anything is created ------------------------------------------


def test_fifty_tags_are_taken_and_fifty_one_refused_naming_the_key():
    fifty = {f"k{n}": "v" for n in range(50)}
    assert len(parse_config(full(legacyTable={**LEGACY, "tags": fifty})).legacy.tags) == 50
    e = error(full(newTable={**NEW, "tags": {**fifty, "one-more": "v"}}))
    assert e.key == "table-migration:newTable.tags"
    assert "51 tags" in str(e) and "at most 50" in str(e)


@pytest.mark.parametrize(
    ("tags", "where"),
    [({"k" * 129: "v"}, "k" * 129), ({"team": "v" * 257}, "team"), ({"aws:owner": "me"}, "aws:owner")],
)
def test_a_tag_key_over_128_or_a_value_over_256_characters_is_refused(tags, where):
    e = error(full(legacyTable={**LEGACY, "tags": tags}))
    assert e.key == f"table-migration:legacyTable.tags.{where}"


def test_tag_keys_of_128_and_values_of_256_characters_are_taken():
    tags = {"k" * 128: "v" * 256}
    assert parse_config(full(legacyTable={**LEGACY, "tags": tags})).legacy.tag_map == tags


@pytest.mark.parametrize("ttl", ["", "   ", "x" * 256, True, ["ExpiresAt"]])
def test_ttl_attribute_must_be_1_to_255_characters(ttl):
    e = error(full(newTable={**NEW, "ttlAttribute": ttl}))
    assert e.key == "table-migration:newTable.ttlAttribute"
    assert "1-255 characters" in str(e) and "leave the field out" in str(e)


def test_ttl_attribute_of_255_characters_is_taken_and_null_drops_the_inherited_one():
    assert parse_config(full(newTable={**NEW, "ttlAttribute": "x" * 255})).new.ttl_attribute == "x" * 255
    assert parse_config(full(newTable={**NEW, "ttlAttribute": None})).new.ttl_attribute is None


@pytest.mark.parametrize(
    "table", ["x", "ab", {"a": 1}, '{"a": 1}', ["records"], "my records", "r" * 256, True, "records\n"]
)
def test_record_table_must_be_a_table_name(table):
    e = error(full(recordTable=table))
    assert e.key == "table-migration:recordTable"
    assert "is not a DynamoDB table name" in str(e) and "3-255" in str(e)


def test_a_record_table_object_is_named_as_written_not_as_python_prints_it():
    assert """'{"a": 1}' is not""" in str(error(full(recordTable={"a": 1})))


@pytest.mark.parametrize(("table", "name"), [(None, None), ("", None), ("my-records.v1_2", "my-records.v1_2")])
def test_a_record_table_name_or_none_is_taken(table, name):
    parse_config(full(recordTable=table))
    assert record_table(table) == name
