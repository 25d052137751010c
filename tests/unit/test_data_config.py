"""``table-migration:verify`` and ``table-migration:compute``: defaults, values, and errors naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.core.config import parse_config
from migrator.core.data_config import Compute, DataOptions, is_master, parse_data_options
from migrator.core.errors import EXIT_BAD_INPUT, ConfigError

LEGACY = {"name": "Legacy", "partitionKey": {"name": "Name", "type": "S"}}


def test_without_the_keys_it_scans_and_computes_locally() -> None:
    options = parse_data_options({})
    assert options == DataOptions("scan", Compute("local", "local[*]"))
    assert not options.export_verify and not options.compute.spark


def test_export_verification_on_spark_with_its_master() -> None:
    options = parse_data_options({"verify": {"method": "export"}, "compute": {"kind": "spark", "master": "yarn"}})
    assert options.export_verify and options.compute == Compute("spark", "yarn")


def test_objects_given_as_json_text_read_alike() -> None:
    # Pulumi's Automation API hands objects over as JSON text
    raw = {"verify": '{"method": "export"}', "compute": '{"kind": "spark"}'}
    assert parse_data_options(raw) == DataOptions("export", Compute("spark", "local[*]"))


def test_parse_config_reads_them_under_the_namespace() -> None:
    config = parse_config(
        {
            "table-migration:legacyTable": LEGACY,
            "table-migration:verify": {"method": "export"},
            "table-migration:compute": {"kind": "spark", "master": "local[2]"},
        }
    )
    assert config.data == DataOptions("export", Compute("spark", "local[2]"))


@pytest.mark.parametrize(
    ("values", "key", "needle"),
    [
        ({"verify": {"method": "sample"}}, "table-migration:verify.method", "'sample' is not one of scan, export"),
        ({"verify": "export"}, "table-migration:verify", "is not an object"),
        ({"verify": {"methods": "export"}}, "table-migration:verify.methods", "not a setting"),
        ({"compute": {"kind": "emr"}}, "table-migration:compute.kind", "'emr' is not one of local, spark"),
        ({"compute": {"kind": "spark", "master": "localhost"}}, "table-migration:compute.master", "not a Spark master"),
        ({"compute": {"master": "local[2]"}}, "table-migration:compute.master", "kind is not spark"),
        ({"compute": {"kind": True}}, "table-migration:compute.kind", "'true' is not one of"),
    ],
)
def test_a_bad_value_names_its_key(values: dict[str, Any], key: str, needle: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"legacyTable": LEGACY, **values})
    assert raised.value.key == key and needle in str(raised.value)
    assert raised.value.exit_code == EXIT_BAD_INPUT and raised.value.hint


@pytest.mark.parametrize(
    "master", ["local", "local[*]", "local[4]", "local[4,2]", "yarn", "spark://h:7077", "k8s://https://h:443"]
)
def test_spark_masters_are_accepted(master: str) -> None:
    assert is_master(master)


@pytest.mark.parametrize("master", ["", "localhost", "local[0]", "local[x]", "spark://", "yarn-cluster", "spark://a b"])
def test_other_text_is_not_a_master(master: str) -> None:
    assert not is_master(master)
