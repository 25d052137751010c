"""Carrying this package's errors out of a Spark executor to the driver, with their class and hint.

Spark reports a failed task as its own exception whose text holds the worker's traceback; the
:class:`~migrator.core.errors.MigrationError` raised there (a damaged export file, a missing bucket)
would reach the caller as a Java stack trace. A task raises :class:`CarriedError` instead, whose
message holds the error as one JSON line after :data:`MARKER`; the driver finds that line in the
Spark exception (:func:`rebuilt`) and raises the original class again, so the exit code and the hint
are those of the single-process path. No pyspark here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from migrator.core.errors import MigrationError

MARKER = "TABLE_MIGRATION_ERROR "
_FOUND = re.compile(re.escape(MARKER) + r"(\{.*?\})(?:\n|$)", re.MULTILINE)


class CarriedError(RuntimeError):
    """A MigrationError of a task, as text that survives Spark's error reporting."""


@contextmanager
def carried() -> Iterator[None]:
    """In a task: turn a MigrationError raised inside into a :class:`CarriedError`."""
    try:
        yield
    except MigrationError as e:
        record = {
            "module": type(e).__module__,
            "name": type(e).__qualname__,
            "message": e.message,
            "hint": e.hint,
            "code": e.code,
        }
        raise CarriedError(MARKER + orjson.dumps(record).decode()) from None


def rebuilt(error: BaseException) -> MigrationError | None:
    """The MigrationError a task carried inside ``error`` (a Spark exception), or None."""
    found = _FOUND.search(str(error))
    if found is None:
        return None
    try:
        record = orjson.loads(found.group(1))
    except orjson.JSONDecodeError:
        return None
    try:
        cls = getattr(importlib.import_module(record["module"]), record["name"])
        made = cls(record["message"], hint=record["hint"], code=record["code"])
    except (ImportError, AttributeError, TypeError):
        made = MigrationError(record["message"], hint=record["hint"], code=record["code"])
    return made if isinstance(made, MigrationError) else MigrationError(record["message"], hint=record["hint"])
