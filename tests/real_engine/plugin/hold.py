"""A step that AWS has finished but the engine has not heard of yet, held open for a crash test.

A long ``ImportTable`` leaves the engine waiting for hours on a table that already exists; a run
killed then leaves the state with a pending create. To kill a run at that point on purpose, the
plugin holds a step open after applying it to moto when ``TABLE_MIGRATION_TEST_HOLD`` names it
(``create=aws:dynamodb/table:Table``, ``update=aws:lambda/function:Function``; several separated by
``,``): it writes the resource's name into ``TABLE_MIGRATION_TEST_HOLD_FILE`` and sleeps until killed
(an hour at most). Unset, nothing is held.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

HOLD_ENV = "TABLE_MIGRATION_TEST_HOLD"
HOLD_FILE_ENV = "TABLE_MIGRATION_TEST_HOLD_FILE"


def held(op: str, token: str, environ: dict[str, str] | None = None) -> bool:
    """True when ``op`` (create, update, delete) of resources of type ``token`` is to be held."""
    wanted = (environ if environ is not None else os.environ).get(HOLD_ENV, "")
    return f"{op}={token}" in {part.strip() for part in wanted.split(",")}


def hold_after(op: str, token: str, name: str) -> None:
    """Hold the step open (after it was applied) when asked to; say so in the hold file first."""
    if not held(op, token):
        return
    marker = os.environ.get(HOLD_FILE_ENV)
    if marker:
        Path(marker).write_text(f"{op} {token} {name}\n")
    time.sleep(3600)
