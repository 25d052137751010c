"""Typed view of the stack config (README "Stack config"), validated with errors that name the key and the fix.

Pure: takes plain values (as Pulumi's ``Config`` or the Automation API's config map give them:
objects may arrive as JSON text) and returns a frozen :class:`MigrationConfig`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.data_config import DataOptions, parse_data_options
from migrator.core.derive import DeriveRule, parse_rules
from migrator.core.errors import ConfigError, DeriveSyntaxError
from migrator.core.online_config import OnlineConfig, parse_online

# KeyAttribute, TableSpec and KEY_TYPES moved to tablespec; imported from here too.
from migrator.core.tablespec import KEY_TYPES, KeyAttribute, TableSpec  # noqa: F401
from migrator.core.tablespec_parse import ParsedTable, parse_table
from migrator.core.tablespec_rules import resolve_legacy, resolve_new

NAMESPACE = "table-migration"
REGION_KEY = "aws:region"  # the AWS provider's region, read beside our own keys
STAGES = (0, 1, 2, 3, 4)
STAGE_NAMES = ("legacy", "export", "dual", "cutover", "retire")
COMPRESSIONS = ("GZIP", "ZSTD", "NONE")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")


def key(name: str) -> str:
    """The full config key, e.g. ``table-migration:stage``."""
    return f"{NAMESPACE}:{name}"


@dataclass(frozen=True)
class ImportSource:
    """Where the new table is imported from; written by the migrator after the export (stage 1)."""

    bucket: str
    key_prefix: str
    compression: str = "GZIP"
    item_count: int = 0

    def to_config(self) -> dict[str, Any]:
        """The object stored under ``table-migration:importSource``."""
        return {
            "bucket": self.bucket,
            "keyPrefix": self.key_prefix,
            "compression": self.compression,
            "itemCount": self.item_count,
        }


ADOPT_NEW_TABLE = "adoptNewTable"  # see MigrationConfig.adopt_new_table


@dataclass(frozen=True)
class MigrationConfig:
    """The whole stack config of one migration."""

    stage: int
    legacy: TableSpec
    new: TableSpec | None = None
    derive: tuple[DeriveRule, ...] = ()
    export_bucket: str | None = None
    endpoint: str | None = None
    region: str | None = None
    import_source: ImportSource | None = None
    # Written by the migrator only to recover a stage 2 killed while its update created the new table:
    # the table AWS made is declared with ``import`` so the rerun adopts it (removed once stage 2 is done).
    adopt_new_table: str | None = None
    online: OnlineConfig = OnlineConfig()  # online, writers, freezeHook, catchUp (core/online.py)
    data: DataOptions = DataOptions()  # verify.method, compute (core/data_config.py)

    @property
    def stage_name(self) -> str:
        return STAGE_NAMES[self.stage]

    @property
    def needs_transform(self) -> bool:
        """True when the export must be rewritten before import: derive rules or a new key schema."""
        if self.new is None:
            return False
        return bool(self.derive) or self.new.key_attributes != self.legacy.key_attributes


def parse_config(values: Mapping[str, Any], *, region: str | None = None) -> MigrationConfig:
    """Build a :class:`MigrationConfig` from config values keyed by short name (``stage``, ``legacyTable``…).

    Keys may also carry the ``table-migration:`` prefix; ``aws:region`` is read when present.
    Raise :class:`ConfigError` naming the key and the fix on the first problem.
    """
    short = {}
    for k, v in values.items():
        if k.startswith(NAMESPACE + ":"):
            short[k[len(NAMESPACE) + 1 :]] = v
        elif k == REGION_KEY:
            region = region or _text(v)
        elif ":" not in k:
            short[k] = v
    stage = parse_stage(short.get("stage", "0"))
    record_table(short.get("recordTable"))  # read by the record store; checked with the rest of the config
    online = parse_online(short)
    legacy, new = _tables(short, stage, online=online.online)
    derive = _derive(short.get("derive"), new)
    import_source = _import_source(short.get("importSource"), required=stage >= 2)
    return MigrationConfig(
        stage=stage,
        legacy=legacy,
        new=new,
        derive=derive,
        export_bucket=_bucket(short.get("exportBucket")),
        endpoint=_endpoint(short.get("endpoint")),
        region=region,
        import_source=import_source,
        adopt_new_table=_adopt_new_table(short.get(ADOPT_NEW_TABLE), new),
        online=online,
        data=parse_data_options(short),
    )


def parse_stage(raw: Any, *, config_key: str = key("stage")) -> int:
    """A stage number 0..4 from config text or an int."""
    text = _text(raw).strip()
    if not re.fullmatch(r"[0-9]+", text) or int(text) not in STAGES:
        raise ConfigError(
            config_key,
            f"{text!r} is not a stage 0..4.",
            hint="Set it with `pulumi config set table-migration:stage 0` (or let `migrate up` set it).",
        )
    return int(text)


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return str(raw).lower()
    return raw if isinstance(raw, str) else str(raw)


def _object(raw: Any, config_key: str) -> Mapping[str, Any] | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ConfigError(
                config_key,
                "is not an object.",
                hint=f"Set it with `pulumi config set --path '{config_key}.name' …` or in Pulumi.<stack>.yaml.",
            ) from None
    if not isinstance(raw, Mapping):
        raise ConfigError(config_key, "is not an object.", hint="See the config reference in the README.")
    return raw


def _derive(raw: Any, new: TableSpec | None) -> tuple[DeriveRule, ...]:
    obj = _object(raw, key("derive"))
    if not obj:
        return ()
    try:
        rules = parse_rules({str(k): _text(v) for k, v in obj.items()})
    except DeriveSyntaxError as e:
        raise ConfigError(key("derive"), e.message, hint=e.hint) from None
    if new is not None:
        # Index keys may be derived too: every key attribute of the new table and its indexes.
        types = {k.name: k.type for k in new.attribute_definitions}
        for rule in rules:
            made = rule.expression.result_type
            if made is not None and rule.target in types and types[rule.target] != made:
                raise ConfigError(
                    key("derive") + "." + rule.target,
                    f"makes a string, but the new table's key {rule.target} is type {types[rule.target]}.",
                    hint="Make that key attribute type S, or derive it with a copy.",
                )
    return rules


def _import_source(raw: Any, *, required: bool) -> ImportSource | None:
    config_key = key("importSource")
    obj = _object(raw, config_key)
    if obj is None:
        if required:
            raise ConfigError(
                config_key,
                "is missing; the new table is imported from it.",
                hint="Run `migrate up --stage 1` (it records importSource after the export) before stage 2.",
            )
        return None
    bucket = _text(obj.get("bucket", ""))
    prefix = _text(obj.get("keyPrefix", ""))
    compression = _text(obj.get("compression", "GZIP")).upper()
    if not bucket or not prefix:
        raise ConfigError(
            config_key,
            "needs bucket and keyPrefix.",
            hint="Let `migrate up --stage 1` write it rather than editing it by hand.",
        )
    if compression not in COMPRESSIONS:
        raise ConfigError(
            config_key + ".compression",
            f"{compression!r} is not one of {', '.join(COMPRESSIONS)}.",
            hint="Let `migrate up --stage 1` write it.",
        )
    try:
        count = int(_text(obj.get("itemCount", 0)))
        if count < 0:
            raise ValueError(count)
    except ValueError:
        raise ConfigError(
            config_key + ".itemCount", "is not a whole number.", hint="Let `migrate up --stage 1` write it."
        ) from None
    return ImportSource(bucket, prefix, compression, count)


def record_table(raw: Any) -> str | None:
    """``table-migration:recordTable``: the record table's name, or None when unset (the default table).

    A :class:`ConfigError` (exit 2) for anything but a DynamoDB table name: the record store creates that
    table on its first write, so a wrong value (an object, a short name) would otherwise become a table.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _TABLE_NAME.fullmatch(raw):
        shown = raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, Mapping | list) else repr(raw)
        raise ConfigError(
            key("recordTable"),
            f"{shown!r} is not a DynamoDB table name.",
            hint="Use 3-255 letters, digits, '_', '-' or '.', or leave it unset for table-migration-records.",
        )
    return raw


def _bucket(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    name = _text(raw)
    if not _BUCKET_NAME.fullmatch(name):
        raise ConfigError(
            key("exportBucket"),
            f"{name!r} is not an S3 bucket name.",
            hint="Use 3-63 lowercase letters, digits, '.' or '-', or leave it unset to let the stack make one.",
        )
    return name


def _adopt_new_table(raw: Any, new: TableSpec | None) -> str | None:
    if raw is None or raw == "":
        return None
    name = _text(raw)
    if new is None or name != new.name:
        raise ConfigError(
            key(ADOPT_NEW_TABLE),
            f"names {name!r}, which is not the new table{f' ({new.name})' if new else ''}.",
            hint="The migrator writes it while it recovers stage 2; remove it "
            f"(`pulumi config rm {key(ADOPT_NEW_TABLE)}`) and rerun `migrate up --stage 2`.",
        )
    return name


def _endpoint(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    url = _text(raw)
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(
            key("endpoint"),
            f"{url!r} is not an http(s) URL.",
            hint="Example: http://127.0.0.1:5000, or unset it for AWS.",
        )
    return url


# --- the table specs: legacyTable, newTable (the fields live in tablespec_parse) ---------


def _tables(short: Mapping[str, Any], stage: int, *, online: bool) -> tuple[TableSpec, TableSpec | None]:
    legacy_object = _table_object(short, "legacyTable", required=True)
    assert legacy_object is not None
    legacy = resolve_legacy(legacy_object)
    new_object = _table_object(short, "newTable", required=stage >= 1)
    if new_object is None:
        return legacy, None
    if new_object.spec.name == legacy.name:
        raise ConfigError(
            key("newTable") + ".name",
            f"is the legacy table's name {legacy.name!r}.",
            hint="Give the new table a name of its own.",
        )
    return legacy, resolve_new(new_object, legacy, online=online)


def _table_object(short: Mapping[str, Any], name: str, *, required: bool) -> ParsedTable | None:
    config_key = key(name)
    obj = _object(short.get(name), config_key)
    if obj is None:
        if required:
            hint = (
                "Add it to Pulumi.<stack>.yaml (name, partitionKey, optional sortKey and ttlAttribute)."
                if name == "legacyTable"
                else "Stages 1..4 need the new table: add newTable (name, partitionKey, …) to the stack config."
            )
            raise ConfigError(config_key, "is missing.", hint=hint)
        return None
    return parse_table(obj, config_key, role=name)
