"""Adopting a table Pulumi does not manage yet (``legacyTable.adopt: true``): the import must change nothing. Pure.

Stage 0 declares the legacy table with ``import`` (``ResourceOptions(import_=name)``) and with the
inputs ``migrate init`` recorded from the live table. The engine reads the table and, since Pulumi
3.174, diffs the declaration against what it read: a difference becomes an update (or a replacement)
right after the import, in the same deployment (older engines fail the import instead). Taking a
table over must not change it, so a preview that imports the legacy table and also changes it is
refused here, naming the fields, before anything runs.
"""

from __future__ import annotations

from migrator.core.config import key
from migrator.core.errors import ConfigError
from migrator.core.guard import REPLACE_OPS, Preview
from migrator.core.tablespec import TableSpec
from migrator.core.urns import LEGACY, role_of

IMPORT_OPS = frozenset({"import", "import-replacement"})
CHANGE_OPS = frozenset({"update"}) | REPLACE_OPS


def check_adoption(preview: Preview, legacy: TableSpec, *, stack: str) -> None:
    """Raise :class:`ConfigError` when ``preview`` imports the legacy table and would also change it."""
    steps = [c for c in preview.changes if role_of(c.urn) == LEGACY]
    if not any(c.op in IMPORT_OPS for c in steps):
        return
    changes = [c for c in steps if c.op in CHANGE_OPS]
    if not changes:
        return
    fields: list[str] = []
    for change in changes:
        for name in (*change.diffs, *change.replace_keys):
            if name not in fields:
                fields.append(name)
    what = "replace it" if any(c.op in REPLACE_OPS for c in changes) else "update it"
    named = f" ({', '.join(fields)} differ)" if fields else ""
    raise ConfigError(
        key("legacyTable"),
        f"does not match the live table {legacy.name}: importing it would also {what}{named}. Nothing was changed.",
        hint=f"Record the live table again with `migrate init --table {legacy.name} --stack {stack} --force`, or "
        "correct those fields in legacyTable, then rerun `migrate up --stage 0`.",
    )
