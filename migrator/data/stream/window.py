"""The freeze window of a cutover: freeze the writers, wait for invocations in flight, drain the stream,
re-check what the replay touched, flip the writers' table, unfreeze. Each part is timed.

The caller records the captured :class:`FreezeState` *before* calling :func:`run_window` (so a rerun
after a crash can restore the writers) and is told when the flip is done (``on_flipped``). A failure
before the flip is complete puts the writers back as they were, on their table and unfrozen, and
raises FreezeError saying what happened; after the flip the writers stay on the new table, never
flipped back silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from migrator.core.errors import FreezeError, MigrationError, RejectsError, VerificationError
from migrator.core.online_config import QUIET_SECONDS, FreezeHook
from migrator.core.replay_plan import KeyRef
from migrator.data.stream.freeze import FreezeState, InFlightWait, flip, flip_back, freeze, unfreeze, wait_in_flight
from migrator.data.stream.recheck import RecheckResult
from migrator.data.stream.replay import Replayer
from migrator.data.stream.replay_result import ReplayResult

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Recheck = Callable[[Sequence[KeyRef]], RecheckResult]
PARTS = ("freeze", "inFlightWait", "drain", "recheck", "flip", "unfreeze")
POLL = 0.2  # seconds between passes: DynamoDB Streams allows about 5 GetRecords calls a second per shard


@dataclass
class Stopwatch:
    """Adds up the time spent in named parts, on a clock that tests can fake."""

    clock: Clock = time.monotonic
    parts: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        started = self.clock()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + self.clock() - started


@dataclass(frozen=True)
class WindowResult:
    """The freeze window: how long the writers were frozen in total and per part, and what happened in it."""

    seconds: float
    parts: Mapping[str, float]
    in_flight: InFlightWait
    replay: ReplayResult
    recheck: RecheckResult | None
    flipped: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The report's ``freeze`` object."""
        return {
            "seconds": round(self.seconds, 3),
            "parts": {name: round(self.parts.get(name, 0.0), 3) for name in PARTS},
            "inFlightStoppedBy": self.in_flight.reason,
            "recordsReplayed": self.replay.records - self.replay.skipped,
            "recheck": self.recheck.to_dict() if self.recheck is not None else None,
            "flipped": list(self.flipped),
            "warnings": list(self.warnings),
        }


def _stop_if_not_clean(replayed: ReplayResult, checked: RecheckResult | None) -> None:
    if not replayed.clean:
        raise RejectsError(
            f"The drain met {replayed.rejects} record(s) it could not apply ({replayed.duplicates} duplicate keys): "
            f"{'; '.join(replayed.reject_reasons)}.",
            hint="Fix those items or the derive rules, then rerun the cutover.",
        )
    if checked is not None and not checked.clean:
        samples = [*checked.differing, *checked.unresolved][:3]
        raise VerificationError(
            f"{len(checked.differing) + len(checked.unresolved)} key(s) still differ between the tables after the "
            f"drain (e.g. {samples}){'; rejects: ' + '; '.join(checked.rejects[:3]) if checked.rejects else ''}.",
            hint="Compare those items in both tables; the cutover can be rerun once they match.",
        )


def run_window(
    lambda_client: Any,
    state: FreezeState,
    replayer: Replayer,
    *,
    flip_to: str,
    recheck: Recheck | None = None,
    quiet_seconds: float = QUIET_SECONDS,
    hook_fn: FreezeHook | None = None,
    context: Mapping[str, Any] | None = None,
    on_flipped: Callable[[], None] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    flip_timeout: float = 300.0,
    drain_timeout: float | None = None,
) -> WindowResult:
    """Freeze, wait for what is in flight, drain, re-check, flip every writer to ``flip_to``, unfreeze.

    ``recheck`` receives the keys the replay touched while frozen and returns what still differs (None:
    no re-check). With ``drain_timeout``, records that keep coming for that long after the in-flight wait
    mean a writer is not frozen: the cutover stops. Raises FreezeError, with the writers restored, when
    anything fails before the flip.
    """
    watch, started = Stopwatch(clock), clock()
    try:
        with watch.part("freeze"):
            freeze(lambda_client, state, hook_fn=hook_fn, context=context, sleep=sleep)
        # Quiet counts from the end of the freeze: an invocation already running may still write.
        probe = replayer.quiet_probe(quiet_seconds, collect_keys=True)
        with watch.part("inFlightWait"):
            waited = wait_in_flight(state.in_flight_bound, probe, clock=clock, sleep=sleep, poll_seconds=POLL)
        with watch.part("drain"):
            drained = _drain(replayer, waited, drain_timeout)
            replayed = probe.result.then(drained)
        if not drained.caught_up:
            raise _still_written(replayer.source.source_table, drain_timeout)
        with watch.part("recheck"):
            checked = recheck(replayed.touched) if recheck is not None else None
        _stop_if_not_clean(replayed, checked)
        with watch.part("flip"):
            flipped = flip(lambda_client, state, flip_to, timeout=flip_timeout, clock=clock, sleep=sleep)
    except BaseException as e:  # anything, Ctrl-C included: put the writers back before it goes on
        _restore(lambda_client, state, e, hook_fn=hook_fn, context=context, sleep=sleep, timeout=flip_timeout)
        if isinstance(e, MigrationError):
            raise FreezeError(
                f"The cutover stopped while the writers were frozen: {e.message} The writers are unfrozen and "
                "on their table again.",
                hint=e.hint,
            ) from e
        raise
    if on_flipped is not None:
        with watch.part("flip"):  # recording "flipped" is part of the flip
            on_flipped()
    with watch.part("unfreeze"):
        warnings = _unfreeze_flipped(lambda_client, state, flip_to, hook_fn=hook_fn, context=context, sleep=sleep)
    return WindowResult(
        clock() - started, dict(watch.parts), waited, replayed, checked, tuple(flipped), tuple(warnings)
    )


def _drain(replayer: Replayer, waited: InFlightWait, timeout: float | None) -> ReplayResult:
    # After a quiet wait (its last pass found nothing) one more empty pass will do: a write that lands later
    # reaches the legacy table after the flip, and is checked there (migrator.core.conflicts).
    passes = 1 if waited.reason == "quiet" else 2
    return replayer.drain(empty_passes=passes, collect_keys=True, poll_seconds=POLL, timeout=timeout)


def _still_written(table: str, drain_timeout: float | None) -> FreezeError:
    return FreezeError(
        f"Writes kept reaching table {table} for {drain_timeout:.0f} s after the writers were frozen: a writer is "
        "not frozen.",
        hint="List every function that writes it in table-migration:writers (or stop the others in "
        "table-migration:freezeHook), then rerun.",
    )


def _unfreeze_flipped(
    lambda_client: Any,
    state: FreezeState,
    flip_to: str,
    *,
    hook_fn: FreezeHook | None,
    context: Mapping[str, Any] | None,
    sleep: Sleep,
) -> list[str]:
    try:
        return unfreeze(lambda_client, state, hook_fn=hook_fn, context=context, sleep=sleep)
    except MigrationError as e:
        raise FreezeError(
            f"The writers now use table {flip_to} but are still frozen: unfreezing failed ({e.message})",
            hint="Rerun: the recorded freeze state restores their concurrency and event source mappings.",
        ) from e


def _restore(
    lambda_client: Any,
    state: FreezeState,
    cause: BaseException,
    *,
    hook_fn: FreezeHook | None,
    context: Mapping[str, Any] | None,
    sleep: Sleep,
    timeout: float,
) -> None:
    try:
        flip_back(lambda_client, state, timeout=timeout, sleep=sleep)
        unfreeze(lambda_client, state, hook_fn=hook_fn, context=context, sleep=sleep)
    except MigrationError as e:
        raise FreezeError(
            f"The cutover stopped while the writers were frozen ({cause}), and putting them back failed: {e.message}",
            hint="Rerun: the recorded freeze state restores the writers' table, concurrency and event source mappings.",
        ) from e
