"""``migrate init``: write a stack's ``table-migration:`` config from a live table.

:func:`plan_init` is pure: from the live table (read by :mod:`migrator.data.describe`), the new name and keys
and the derive rules, the config to write, checked by the same parser the program and the migrator use.
:func:`write_init` writes it to the stack, and never over an existing migration config without ``force``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.config import REGION_KEY, parse_config, parse_stage
from migrator.core.derive import DeriveRule, parse_rules
from migrator.core.errors import BadInputError, DeriveSyntaxError
from migrator.core.ports import PROGRESS, StackPort
from migrator.core.record import RECORD_KEY, Record
from migrator.core.tablespec import KEY_TYPES, LOAD_WRITE, KeyAttribute, TableSpec, spec_to_config
from migrator.data.aws import AwsSettings
from migrator.data.describe import LiveTable, NotCarried
from migrator.data.record_table import DEFAULT_TABLE as DEFAULT_RECORD_TABLE
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.context import new_table
from migrator.report.spec_view import describe_spec

# Keys that make up a migration's config: any of them present means the stack is already set up.
_OWNED = ("legacyTable", "newTable", "derive")


def parse_key_option(raw: str, option: str) -> KeyAttribute:
    """``NAME:TYPE`` of ``--partition-key``/``--sort-key``, exactly one ``:``; :class:`BadInputError` otherwise
    (``A:S:N`` is refused, not read as the key ``A:S`` of type N)."""
    parts = (raw or "").split(":")
    if len(parts) != 2 or not parts[0].strip() or parts[1].strip().upper() not in KEY_TYPES:
        raise BadInputError(
            f"{option} {raw!r} is not NAME:TYPE.", hint=f"Write it as {option} UUID:S (type S, N or B)."
        )
    return KeyAttribute(parts[0].strip(), parts[1].strip().upper())


@dataclass(frozen=True)
class InitPlan:
    """The config ``init`` writes, with what it chose for the user and what it could not carry."""

    values: dict[str, Any]  # short keys (legacyTable, newTable, derive, stage) plus aws:region when new
    legacy: TableSpec
    new: TableSpec
    choices: tuple[str, ...]
    not_carried: tuple[NotCarried, ...]


def plan_init(
    live: LiveTable,
    *,
    new_name: str | None,
    partition_key: KeyAttribute | None,
    sort_key: KeyAttribute | None,
    derive: tuple[str, ...],
    current: Mapping[str, Any],
    region: str,
    adopt: bool = False,
) -> InitPlan:
    """The config for ``live`` (pure); checked with :func:`parse_config` as stage 1 would read it.

    ``adopt``: the table is not managed by Pulumi yet; stage 0 imports it into the stack.
    """
    legacy = live.spec
    choices: list[str] = []
    not_carried = list(live.not_carried)
    name = new_name or f"{legacy.name}-v2"
    if not new_name:
        choices.append(f"the new table is named {name} (--new-name to choose)")
    if name == legacy.name:
        raise BadInputError(
            f"--new-name {name!r} is the legacy table's name.", hint="Give the new table a name of its own."
        )
    if partition_key is None:
        partition_key = legacy.partition_key
        sort_key = sort_key if sort_key is not None else legacy.sort_key
        choices.append("the new table keeps the legacy keys (--partition-key/--sort-key to change them)")
    new = _new_table_values(legacy, name, partition_key, sort_key, choices, not_carried)
    try:
        rules = parse_rules(list(derive))
    except DeriveSyntaxError as e:
        raise BadInputError(f"--derive: {e.message}", hint=e.hint) from None
    values: dict[str, Any] = {"legacyTable": spec_to_config(legacy), "newTable": new}
    if adopt:
        values["legacyTable"]["adopt"] = True
        choices.append(
            f"legacyTable.adopt is true: stage 0 imports {legacy.name} into the stack as it is (no other Pulumi "
            "stack may manage it)"
        )
    if rules:
        values["derive"] = {rule.target: rule.text for rule in rules}
    if "stage" not in current:
        values["stage"] = "0"
    if not current.get(REGION_KEY):
        values[REGION_KEY] = region
    merged = {k: v for k, v in current.items() if k not in _OWNED}
    config = parse_config({**merged, **values, "stage": "1"})
    _check_new_keys_supplied(config.legacy, new_table(config), rules)
    return InitPlan(values, config.legacy, new_table(config), tuple(choices), tuple(not_carried))


def _check_new_keys_supplied(legacy: TableSpec, new: TableSpec, rules: tuple[DeriveRule, ...]) -> None:
    """Refuse a new table key that neither a derive rule nor a key attribute of the legacy table supplies:
    every item would be a reject at stage 1. An attribute only the items know of is named with a copy rule."""
    derived = {rule.target for rule in rules}
    known = {attribute.name: attribute.type for attribute in legacy.attribute_definitions}
    for option, attribute in zip(("--partition-key", "--sort-key"), new.key_attributes, strict=False):
        name, given = attribute.name, f"{option} {attribute.name}:{attribute.type}"
        if name in derived:
            continue
        if name not in known:
            raise BadInputError(
                f"{given}: no --derive rule makes {name}, and it is not a key attribute of {legacy.name}, so "
                "every item would be a reject. Nothing was written.",
                hint=f"Add e.g. --derive '{name}=uuid5({legacy.partition_key.name})'; if every item of "
                f"{legacy.name} already holds {name}, say so with --derive '{name}={name}'.",
            )
        if known[name] != attribute.type:
            raise BadInputError(
                f"{given}: {legacy.name} keys {name} as type {known[name]}, and no --derive rule makes it. "
                "Nothing was written.",
                hint=f"Use {option} {name}:{known[name]}, or derive {name} with --derive.",
            )


def check_tables(*, table: str, stack: str, in_stack: bool, adopt: bool, new_name: str, new_exists: bool) -> None:
    """Refuse a legacy table the stack does not manage without ``--adopt`` (stage 0 would try to create it
    and fail on the live one), and a new table name that is taken (stage 2 would fail to create it)."""
    if not in_stack and not adopt:
        raise BadInputError(
            f"Table {table} is not in stack {stack}'s state: stage 0 would declare it as a new table, and creating "
            "it would fail because it exists. Nothing was written.",
            hint=f"If no Pulumi stack manages {table} (made by CDK, the console or Terraform), pass --adopt: stage 0 "
            "imports it as it is. If your program declares it, run init on the stack that deployed it (--stack).",
        )
    if new_exists:
        raise BadInputError(
            f"--new-name {new_name}: a table of that name exists already; stage 2 creates the new table and would "
            "fail on it. Nothing was written.",
            hint="Choose another name with --new-name (or delete that table if it is a leftover you do not need).",
        )


def _new_table_values(
    legacy: TableSpec,
    name: str,
    partition_key: KeyAttribute,
    sort_key: KeyAttribute | None,
    choices: list[str],
    not_carried: list[NotCarried],
) -> dict[str, Any]:
    """``newTable``'s config; what it chose is added to ``choices``, what it could not carry to ``not_carried``."""
    new: dict[str, Any] = {"name": name, "partitionKey": partition_key.to_config()}
    if sort_key is not None:
        new["sortKey"] = sort_key.to_config()
    if legacy.local_indexes and sort_key is None:
        new["localSecondaryIndexes"] = []
        not_carried.append(
            NotCarried(
                "local secondary indexes " + ", ".join(i.name for i in legacy.local_indexes),
                "the new table has no sort key, and a local index needs one; make them global indexes in newTable",
            )
        )
    elif legacy.local_indexes:
        new["load"] = LOAD_WRITE
        choices.append(
            "newTable.load is write: ImportTable cannot create local secondary indexes, so the new table is "
            "created empty and the export written into it"
        )
    return new


def check_stack(current: Mapping[str, Any], *, stack: str, region: str, force: bool) -> None:
    """Refuse to write over a migration config (unless ``force``), ever over a migration under way, or
    with a region other than the stack's."""
    stage = parse_stage(current.get("stage", "0"))
    record = Record.from_config(current.get(RECORD_KEY), declared_stage=stage)
    if stage > 0 or record.completed_stage > 0:
        raise BadInputError(
            f"Stack {stack} is at stage {max(stage, record.completed_stage)}: its migration is under way, and "
            "`migrate init` only sets up one that has not begun.",
            hint="Check it with `migrate status`; use another stack for another table.",
        )
    present = [k for k in _OWNED if current.get(k)]
    if present and not force:
        legacy = current.get("legacyTable")
        named = f" (legacyTable {legacy.get('name')})" if isinstance(legacy, Mapping) else ""
        raise BadInputError(
            f"Stack {stack} already has a migration config{named}: {', '.join(present)}.",
            hint="Nothing was changed. Pass --force to replace it, or use another stack.",
        )
    stack_region = current.get(REGION_KEY)
    if stack_region and stack_region != region:
        raise BadInputError(
            f"Stack {stack} is in {stack_region} (aws:region), but the table was to be read in {region}.",
            hint=f"Drop --region, or pass --region {stack_region}.",
        )


def check_record_table(
    port: StackPort | None, current: Mapping[str, Any], settings: AwsSettings, *, stack: str
) -> None:
    """Refuse when the record table says the stack's migration is under way, whatever the stack file says.

    The stack file may be stale (an old checkout at stage 0 while another machine finished stage 1), and
    ``--force`` replaces only a config that has not begun. A stack that does not exist yet has no record.
    """
    if port is None:
        return
    table = str(current.get("recordTable") or DEFAULT_RECORD_TABLE)
    store = DynamoRecordStore(settings, scope=f"{port.project}/{port.name}", table=table)
    raw = store.load(PROGRESS)
    if raw is None:
        return
    record = Record.from_config(raw, declared_stage=0, check=False)
    if record.completed_stage <= 0 and not record.export_arn and not record.cutover:
        return
    done = f"stage {record.completed_stage} is done" if record.completed_stage > 0 else "stage 1 has begun"
    raise BadInputError(
        f"Stack {stack}: the migration record in {store.where} says {done}: its migration is under way (this "
        "stack file may be older than the migration), and `migrate init` only sets up one that has not begun. "
        "Nothing was changed.",
        hint="Check it with `migrate status` on the current stack file; use another stack for another table.",
    )


@dataclass(frozen=True)
class InitResult:
    """What ``init`` found and wrote."""

    stack: str
    region: str
    plan: InitPlan
    replaced: tuple[str, ...]  # keys that held a config before (--force)
    item_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "table": self.plan.legacy.name,
            "itemCount": self.item_count,
            "config": dict(self.plan.values),
            "choices": list(self.plan.choices),
            "notCarried": [n.to_dict() for n in self.plan.not_carried],
            "replaced": list(self.replaced),
        }

    def text(self) -> str:
        legacy = self.plan.legacy
        lines = [f"Stack {self.stack}: wrote table-migration config for {legacy.name} (about {self.item_count} items)."]
        lines.append("found:")
        lines += [f"  {line}" for line in describe_spec(legacy)]
        keys = ", ".join(f"{k.name} ({k.type})" for k in self.plan.new.key_attributes)
        lines.append(f"new table: {self.plan.new.name}, keys {keys}; every other field inherited from legacyTable")
        lines += [f"  - {choice}" for choice in self.plan.choices]
        if self.plan.not_carried:
            lines.append("not carried:")
            lines += [f"  - {n.what}: {n.reason}" for n in self.plan.not_carried]
        if self.replaced:
            lines.append(f"replaced (--force): {', '.join(self.replaced)}")
        lines.append("next: `migrate plan --stage 1` shows the new table beside the legacy one, and the update.")
        return "\n".join(lines)


def write_init(stack: StackPort, plan: InitPlan, *, current: Mapping[str, Any]) -> tuple[str, ...]:
    """Write ``plan``'s config in one call; remove a stale ``derive`` it replaces. Return the keys replaced."""
    replaced = tuple(k for k in _OWNED if current.get(k))
    stack.set_config(plan.values)
    if "derive" in replaced and "derive" not in plan.values:
        stack.remove_config(["derive"])
    return replaced
