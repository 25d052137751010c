"""One small error hierarchy: every error says what went wrong and what to do next.

The CLI catches :class:`MigrationError` once, prints ``str(error)`` on stderr and exits with
``error.exit_code``: 1 when the data is not right or an outside step failed, 2 for bad input.
"""

from __future__ import annotations

EXIT_DATA = 1
EXIT_BAD_INPUT = 2


class MigrationError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: int = EXIT_DATA
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        # The outside system's own error code (AWS or Pulumi), when there is one.
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


# --- bad input: exit 2, nothing changed -------------------------------------------------------


class BadInputError(MigrationError):
    """The user asked for something that cannot be done as asked."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(BadInputError):
    """Stack config is missing or wrong; ``key`` names the config key (e.g. ``table-migration:stage``)."""

    def __init__(self, key: str, problem: str, *, hint: str | None = None) -> None:
        self.key = key
        super().__init__(f"Config {key}: {problem}", hint=hint)


class RecordError(BadInputError):
    """The migrator's own record of a stack is damaged (edited by hand, or written by something else)."""


class DeriveSyntaxError(BadInputError):
    """A derive expression or ``module:function`` hook that cannot be used."""


class NotFoundError(BadInputError):
    """A table, bucket, stack or export that does not exist."""


class PulumiNotInstalledError(BadInputError):
    """The ``pulumi`` CLI is not on this machine."""


# --- the data is not right, or an outside step failed: exit 1 ---------------------------------


class DataError(MigrationError):
    """The data is not right: differences, rejects, duplicate keys."""


class ExportFailedError(DataError):
    """A DynamoDB export to S3 failed or its files do not match their manifest."""


class ImportFailedError(DataError):
    """A DynamoDB import from S3 failed, or imported a different number of items."""


class RejectsError(DataError):
    """Items could not be transformed (missing source attribute, hook error)."""


class DuplicateKeysError(DataError):
    """Two or more items derive the same new key; an import would silently keep one."""


class VerificationError(DataError):
    """Source and target differ."""


class DriftError(DataError):
    """The legacy table changed after the export (writes after the export)."""


class AwsError(MigrationError):
    """An AWS call failed for a reason that is not the user's input."""


class PulumiError(MigrationError):
    """A Pulumi operation failed."""


class StackBusyError(PulumiError):
    """Another update or migration step holds the stack.

    ``holders``: the processes the Pulumi backend names as holding its lock (``host``, ``pid``, ``at``), for
    a self-managed backend; empty when the backend names none (Pulumi Cloud) or another migration holds it.
    """

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None, holders: tuple = ()) -> None:
        super().__init__(message, hint=hint, code=code)
        self.holders = tuple(holders)


class StackNotFoundError(BadInputError):
    """The named stack does not exist in the selected backend."""


class GuardError(MigrationError):
    """The preview shows a change the stage does not plan (a table deleted or replaced)."""


class StageError(BadInputError):
    """A stage move that is not allowed (outside 0..4, backwards with ``up``, unsafe ``down``)."""


# --- online migration -----------------------------------------------------------------------


class ReplayImpossibleError(BadInputError):
    """A replay that cannot be done with this stream or these derive rules; the message says why."""


class StreamGapError(DataError):
    """The stream no longer holds every write since the export (trimmed, replaced, or started too late)."""

    default_hint = (
        "Start again from a new export of the legacy table; between stages, run `migrate catch-up` at least "
        "daily, since a stream keeps its records for 24 hours."
    )


class FreezeError(MigrationError):
    """Freezing, flipping or unfreezing the writers failed; the message says in which state they are."""
