"""Freezing the writers for the cutover, flipping their table variable, and restoring exactly what was there.

A Lambda writer is frozen by setting its reserved concurrency to 0 (new invocations are throttled;
running ones finish, within the function's timeout) and disabling its enabled event source mappings
(so queue and stream pollers stop instead of retrying throttled batches). :func:`capture` reads what
is there first, as a :class:`FreezeState` that is a plain dict away from a durable record, so a run
that crashed while the writers were frozen can restore them. Writers that are not Lambda functions
are frozen by the ``freezeHook``: ``function(action, context)`` with action "freeze" or "unfreeze".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import ConfigError, FreezeError, MigrationError
from migrator.core.online_config import FreezeHook, Writer
from migrator.data.aws import aws_errors

Clock = Callable[[], float]
Sleep = Callable[[float], None]

FORMAT = 1
_ENABLED = ("Enabled", "Enabling", "Creating", "Updating")  # a mapping that polls, or will
_ATTEMPTS = 10


@dataclass(frozen=True)
class WriterState:
    """One writer as captured before the freeze."""

    function: str
    env: str
    reserved_concurrency: int | None  # None: unset (the function draws on the account's unreserved pool)
    enabled_mappings: tuple[str, ...]  # UUIDs of its event source mappings that were enabled
    timeout_seconds: int
    table: str | None  # the value of ``env`` when captured

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "env": self.env,
            "reservedConcurrency": self.reserved_concurrency,
            "enabledMappings": list(self.enabled_mappings),
            "timeoutSeconds": self.timeout_seconds,
            "table": self.table,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> WriterState:
        concurrency = raw.get("reservedConcurrency")
        return cls(
            function=str(raw["function"]),
            env=str(raw["env"]),
            reserved_concurrency=None if concurrency is None else int(concurrency),
            enabled_mappings=tuple(str(u) for u in raw.get("enabledMappings", ())),
            timeout_seconds=int(raw.get("timeoutSeconds", 3)),
            table=raw.get("table"),
        )


@dataclass(frozen=True)
class FreezeState:
    """Everything :func:`unfreeze` needs to put the writers back as they were."""

    writers: tuple[WriterState, ...]
    hook: str | None = None

    @property
    def in_flight_bound(self) -> float:
        """The longest an invocation started before the freeze can still run: the largest timeout."""
        return float(max((w.timeout_seconds for w in self.writers), default=0))

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "writers": [w.to_dict() for w in self.writers], "hook": self.hook}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FreezeState:
        if raw.get("format") != FORMAT:
            raise MigrationError(
                f"The recorded freeze state has format {raw.get('format')!r}, not {FORMAT}.",
                hint="Restore the writers by hand from the record (reserved concurrency, event source mappings).",
            )
        return cls(tuple(WriterState.from_dict(w) for w in raw.get("writers", ())), raw.get("hook"))


@dataclass(frozen=True)
class InFlightWait:
    """How long the in-flight wait took, and why it stopped ("quiet" stream, or the "timeout" bound)."""

    seconds: float
    reason: str


def _mappings(lambda_client: Any, function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"FunctionName": function}
    while True:
        with aws_errors(f"list the event source mappings of function {function}", what=f"function {function}"):
            page = lambda_client.list_event_source_mappings(**kwargs)
        found.extend(page.get("EventSourceMappings", []))
        if not page.get("NextMarker"):
            return found
        kwargs["Marker"] = page["NextMarker"]


def _configuration(lambda_client: Any, function: str) -> dict[str, Any]:
    with aws_errors(f"read function {function}", what=f"function {function}"):
        return lambda_client.get_function_configuration(FunctionName=function)


def capture(
    lambda_client: Any, writers: Sequence[Writer], *, hook: str | None = None, expect_table: str | None = None
) -> FreezeState:
    """Read each writer's reserved concurrency, enabled event source mappings, timeout and table variable.

    With ``expect_table``, a writer whose variable names another table is a ConfigError (nothing changed).
    """
    states = []
    for writer in writers:
        config = _configuration(lambda_client, writer.function)
        variables = (config.get("Environment") or {}).get("Variables") or {}
        table = variables.get(writer.env)
        if table is None:
            raise ConfigError(
                "table-migration:writers",
                f"function {writer.function} has no environment variable {writer.env}.",
                hint="Name in the writer's env the variable that holds its table name (default TABLE_NAME).",
            )
        if expect_table is not None and table != expect_table:
            raise ConfigError(
                "table-migration:writers",
                f"function {writer.function} has {writer.env}={table}, not the table being moved ({expect_table}).",
                hint="List only the writers of that table, or fix the variable named in the writer's env.",
            )
        with aws_errors(f"read the concurrency of function {writer.function}", what=f"function {writer.function}"):
            concurrency = lambda_client.get_function_concurrency(FunctionName=writer.function)
        reserved = concurrency.get("ReservedConcurrentExecutions")
        enabled = tuple(m["UUID"] for m in _mappings(lambda_client, writer.function) if m.get("State") in _ENABLED)
        states.append(
            WriterState(
                writer.function,
                writer.env,
                None if reserved is None else int(reserved),
                enabled,
                int(config.get("Timeout", 3)),
                table,
            )
        )
    return FreezeState(tuple(states), hook)


def _set_mapping(lambda_client: Any, uuid: str, *, enabled: bool, sleep: Sleep) -> bool:
    """Enable or disable one mapping; False when it no longer exists. Retries while it is busy updating."""
    for attempt in range(_ATTEMPTS):
        try:
            with aws_errors(
                f"{'enable' if enabled else 'disable'} event source mapping {uuid}", what=f"mapping {uuid}"
            ):
                lambda_client.update_event_source_mapping(UUID=uuid, Enabled=enabled)
            return True
        except MigrationError as e:
            if e.code in ("ResourceNotFoundException", "404"):
                return False
            if e.code != "ResourceInUseException" or attempt == _ATTEMPTS - 1:
                raise
            sleep(min(2.0, 0.1 * 2**attempt))
    return True


def _call_hook(hook_fn: FreezeHook | None, spec: str | None, action: str, context: Mapping[str, Any] | None) -> None:
    if hook_fn is None:
        return
    try:
        hook_fn(action, dict(context or {}))
    except Exception as e:  # the user's code: any failure stops the cutover with its reason
        raise FreezeError(
            f"freezeHook {spec or ''} failed on {action!r}: {type(e).__name__}: {e}",
            hint="Fix the hook (or the writers it controls) and rerun.",
        ) from e


def freeze(
    lambda_client: Any,
    state: FreezeState,
    *,
    hook_fn: FreezeHook | None = None,
    context: Mapping[str, Any] | None = None,
    sleep: Sleep = time.sleep,
) -> None:
    """Throttle every writer (reserved concurrency 0), disable its enabled mappings, then call the hook."""
    for writer in state.writers:
        with aws_errors(f"freeze function {writer.function}", what=f"function {writer.function}"):
            lambda_client.put_function_concurrency(FunctionName=writer.function, ReservedConcurrentExecutions=0)
        for uuid in writer.enabled_mappings:
            _set_mapping(lambda_client, uuid, enabled=False, sleep=sleep)
    _call_hook(hook_fn, state.hook, "freeze", context)


def unfreeze(
    lambda_client: Any,
    state: FreezeState,
    *,
    hook_fn: FreezeHook | None = None,
    context: Mapping[str, Any] | None = None,
    sleep: Sleep = time.sleep,
) -> list[str]:
    """Restore each writer's reserved concurrency exactly (unset included) and re-enable the mappings that were
    enabled, then call the hook; safe to run again. Returns warnings (a mapping deleted meanwhile)."""
    warnings = []
    for writer in state.writers:
        with aws_errors(f"unfreeze function {writer.function}", what=f"function {writer.function}"):
            if writer.reserved_concurrency is None:
                lambda_client.delete_function_concurrency(FunctionName=writer.function)
            else:
                lambda_client.put_function_concurrency(
                    FunctionName=writer.function, ReservedConcurrentExecutions=writer.reserved_concurrency
                )
        existing = {m["UUID"] for m in _mappings(lambda_client, writer.function)} if writer.enabled_mappings else set()
        for uuid in writer.enabled_mappings:
            if uuid not in existing or not _set_mapping(lambda_client, uuid, enabled=True, sleep=sleep):
                warnings.append(f"event source mapping {uuid} of {writer.function} no longer exists")
    _call_hook(hook_fn, state.hook, "unfreeze", context)
    return warnings


def wait_in_flight(
    bound_seconds: float,
    is_quiet: Callable[[], bool],
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    poll_seconds: float = 0.1,
) -> InFlightWait:
    """Wait for invocations started before the freeze: until ``is_quiet()`` (the stream had no new record for a
    while) or ``bound_seconds`` (the writers' longest timeout), whichever comes first."""
    started = clock()
    while True:
        if is_quiet():
            return InFlightWait(clock() - started, "quiet")
        if clock() - started >= bound_seconds:
            return InFlightWait(clock() - started, "timeout")
        sleep(poll_seconds)


def _wait_updated(lambda_client: Any, function: str, *, timeout: float, clock: Clock, sleep: Sleep) -> dict:
    deadline = clock() + timeout
    while True:
        config = _configuration(lambda_client, function)
        status = config.get("LastUpdateStatus", "Successful")
        if status == "Successful":
            return config
        if status == "Failed":
            raise FreezeError(
                f"Updating function {function} failed: {config.get('LastUpdateStatusReason', 'no reason given')}.",
                hint="Fix the function's configuration and rerun.",
            )
        if clock() >= deadline:
            raise FreezeError(f"Function {function} is still updating after {timeout:.0f} s.", hint="Rerun later.")
        sleep(0.5)


def set_table(
    lambda_client: Any,
    writer: WriterState,
    table: str,
    *,
    timeout: float = 300.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> bool:
    """Set the writer's table variable to ``table``, keeping every other variable; wait until the update is
    Successful. False when it already was ``table``."""
    for _ in range(_ATTEMPTS):
        config = _wait_updated(lambda_client, writer.function, timeout=timeout, clock=clock, sleep=sleep)
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        if variables.get(writer.env) == table:
            return False
        kwargs: dict[str, Any] = {
            "FunctionName": writer.function,
            "Environment": {"Variables": {**variables, writer.env: table}},
        }
        if config.get("RevisionId"):  # only if nobody changed the configuration since we read it
            kwargs["RevisionId"] = config["RevisionId"]
        try:
            with aws_errors(f"set {writer.env} of function {writer.function}", what=f"function {writer.function}"):
                lambda_client.update_function_configuration(**kwargs)
        except MigrationError as e:
            if e.code in ("PreconditionFailedException", "ResourceConflictException"):
                continue  # changed or updating meanwhile: read it again
            raise
        _wait_updated(lambda_client, writer.function, timeout=timeout, clock=clock, sleep=sleep)
        return True
    raise FreezeError(f"Function {writer.function} kept changing while its {writer.env} was set.", hint="Rerun.")


def flip(lambda_client: Any, state: FreezeState, table: str, **kwargs: Any) -> list[str]:
    """Point every writer's table variable at ``table``; returns the functions changed."""
    return [w.function for w in state.writers if set_table(lambda_client, w, table, **kwargs)]


def flip_back(lambda_client: Any, state: FreezeState, **kwargs: Any) -> list[str]:
    """Point every writer's table variable back at the table it had when captured; returns the functions changed."""
    return [w.function for w in state.writers if w.table is not None and set_table(lambda_client, w, w.table, **kwargs)]
