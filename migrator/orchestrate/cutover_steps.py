"""Stage 3's online cutover and ``down``'s carry-back: writes keep flowing, the writers freeze for seconds.

Cutover (before stage 3's update), as the issue's steps 1-7 say:

1. catch up until the lag stays under ``catchUp.maxLagSeconds`` for a few passes in a row;
2. verify legacy against new while writes flow; every key that differed is read again on both sides
   (consistent reads) once the replay has passed the end of the scan, and again after another pass
   while it still differs: what differs every time is a real difference and stops the cutover before
   any freeze. Then short passes re-check the keys written since the previous pass until that set is
   small, so the freeze has little left to check;
3. record the writers as captured (the record store) *before* freezing them, then freeze;
4. wait for invocations in flight, drain the stream (two empty passes);
5. re-check the keys written since the last pass of step 2 (consistent reads, nothing writes now);
6. flip each writer's table variable and unfreeze; the stage's update then declares the same;
7. any failure before the flip puts the writers back on the legacy table, unfrozen, and exits 1.

A crash leaves the recorded :class:`~migrator.core.cutover_state.CutoverState`, which the rerun reads first
(see that module). Going back (``down --stage 2``) runs the same window the other way: the new table's
stream since the flip is replayed onto the legacy table while the writers are frozen.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import orjson

from migrator.core.canonical import CanonicalError, key_bytes
from migrator.core.cutover_state import FLIPPED, FORWARD, REVERSE, CutoverState
from migrator.core.derive import Deriver, RejectError
from migrator.core.errors import DataError, FreezeError, MigrationError, ReplayImpossibleError, VerificationError
from migrator.core.online_config import load_freeze_hook
from migrator.core.replay_plan import KeyRef
from migrator.core.stages import CARRY_BACK, CUTOVER
from migrator.data.stream.freeze import FreezeState, capture, flip_back, unfreeze
from migrator.data.stream.recheck import RecheckResult, recheck_keys
from migrator.data.stream.replay import Replayer
from migrator.data.stream.replay_result import PassResult, ReplayResult
from migrator.data.stream.window import WindowResult, run_window
from migrator.data.verify.keys import verify_tables_keys
from migrator.orchestrate.steps import verify_summary
from migrator.orchestrate.stream_steps import check_clean, new_name

if TYPE_CHECKING:
    from migrator.orchestrate.steps import StageRun
    from migrator.orchestrate.stream_steps import OnlineSteps

CUTOVER_CATCH_UP_TIMEOUT = 1800.0
RECHECK_ROUNDS = 3  # a key must still differ after this many re-checks, each after a replay pass, to count
RECHECK_CHUNK = 500
SMALL_ENOUGH = 200  # keys written since the previous pass: few enough to leave to the freeze's re-check
SHORT_PASSES = 5


class Cutover:
    """The freeze windows of one stack, built on :class:`~migrator.orchestrate.stream_steps.OnlineSteps`."""

    def __init__(self, online: OnlineSteps) -> None:
        self.online = online
        self.catch_up_timeout = CUTOVER_CATCH_UP_TIMEOUT

    def handlers(self) -> dict[str, Callable[[StageRun], None]]:
        return {CUTOVER: self.cutover, CARRY_BACK: self.carry_back}

    # --- stage 3 ---------------------------------------------------------------------------------

    def cutover(self, run: StageRun) -> None:
        """Steps 1-7 of the module docstring (before stage 3's update)."""
        if self._resume(run, FORWARD):
            return
        config, on = run.config, self.online
        legacy, new = config.legacy.name, new_name(config)
        replayer = on.forward(config, run.record)
        # 1. catch up
        caught = replayer.catch_up(max_lag=config.online.catch_up.max_lag_seconds, timeout=self.catch_up_timeout)
        run.record = on.account(run.record, "catchUp", caught)
        on.save(run.record)
        check_clean(caught, legacy)
        if not caught.caught_up:
            raise DataError(
                f"The replay of {legacy}'s writes did not get under {config.online.catch_up.max_lag_seconds:g} s of "
                f"lag within {self.catch_up_timeout:.0f} s (lag {caught.lag_seconds:.1f} s): writes come faster than "
                "it applies them. Nothing was frozen.",
                hint="Rerun when the write rate is lower, or raise table-migration:catchUp.maxLagSeconds.",
            )
        # 2. verify while writes flow, re-check what differed, then short re-check passes
        carry, lag = self._verify_live(run, replayer)
        # 3-7. the freeze window
        self.online.progress(f"  caught up (lag {lag:.1f} s); freezing the writers")
        window = self._window(run, replayer, FORWARD, carry=carry)
        freeze = {**window.to_dict(), "lagAtFreeze": round(lag, 3)}
        online = {**run.record.online, "freeze": freeze}
        run.record = on.account(run.record.with_(online=online), "catchUp", window.replay)
        on.save(run.record)
        run.warnings += list(window.warnings)
        self.online.progress(
            f"  writers on {new}: frozen {window.seconds:.2f} s, {freeze['recordsReplayed']} writes replayed in the "
            "freeze"
        )

    def _verify_live(self, run: StageRun, replayer: Replayer) -> tuple[list[KeyRef], float]:
        config, on = run.config, self.online
        legacy, new = config.legacy.name, new_name(config)
        deriver = Deriver(config.derive)
        report, keys = verify_tables_keys(on.settings(), source_table=legacy, target_table=new, deriver=deriver)
        with keys:
            # The replay passes the end of the scan: every write the scan may have seen is applied by then.
            passed = replayer.catch_up(max_lag=config.online.catch_up.max_lag_seconds, in_a_row=2, timeout=60)
            check_clean(passed, legacy)
            real: list[dict[str, str]] = []
            for chunk in _chunks(keys.refs(), RECHECK_CHUNK):
                real += self._recheck_stable(run, replayer, chunk)
        summary = verify_summary(report, on.now())
        summary.update(
            identical=not real and not report.rejects,
            missing_count=0,
            extra_count=0,
            changed_count=len(real),
            whileWritesFlowed={k: getattr(report, f"{k}_count") for k in ("missing", "extra", "changed")},
            recheckedKeys=len(keys),
        )
        run.record = on.account(run.record.with_(verify={**run.record.verify, "live": summary}), "catchUp", passed)
        on.save(run.record)
        if report.rejects:
            raise VerificationError(
                f"{report.rejects} item(s) of {legacy} cannot be mapped to {new} "
                f"(e.g. {list(report.reject_samples)[:3]}).",
                hint="Fix those items or the derive rules, then rerun `migrate up --stage 3`. Nothing was frozen.",
            )
        if real:
            raise VerificationError(
                f"{len(real)} item(s) of {new} still differ from {legacy} after the replay caught up (e.g. "
                f"{real[:3]}): a real difference. Nothing was frozen.",
                hint=f"Inspect with `migrate verify --source-table {legacy} --target-table {new} --derive …`; fix "
                "the items, then rerun `migrate up --stage 3`.",
            )
        carry: list[KeyRef] = []
        lag = passed.lag_seconds
        for _ in range(SHORT_PASSES):
            done = replayer.run_pass(collect_keys=True)
            run.record = on.account(run.record, "catchUp", _as_result(done))
            lag, carry = done.lag_seconds, list(done.touched)
            if len(carry) <= SMALL_ENOUGH:
                break
            real = self._recheck_stable(run, replayer, carry)
            if real:
                raise VerificationError(
                    f"{len(real)} item(s) written during the cutover differ between {legacy} and {new} (e.g. "
                    f"{real[:3]}). Nothing was frozen.",
                    hint="Check the derive rules against those items, then rerun `migrate up --stage 3`.",
                )
            carry = []
        on.save(run.record)
        return carry, lag

    def _recheck_stable(self, run: StageRun, replayer: Replayer, refs: Sequence[KeyRef]) -> list[dict[str, str]]:
        """Keys that still differ after RECHECK_ROUNDS re-checks, each after one more replay pass."""
        left = list(refs)
        differing: list[dict[str, str]] = []
        for round_ in range(RECHECK_ROUNDS):
            if round_:
                check_clean(_as_result(replayer.run_pass()), run.config.legacy.name)
            result = self._recheck(run, replayer, left)
            differing = [*result.differing, *result.unresolved]
            if not differing and not result.rejects:
                return []
            left = _still(left, result, replayer)
        return differing

    def _recheck(self, run: StageRun, replayer: Replayer, refs: Sequence[KeyRef]) -> RecheckResult:
        return recheck_keys(
            self.online.client("dynamodb"),
            source_table=run.config.legacy.name,
            target_table=new_name(run.config),
            item_map=replayer.source.item_map,
            keys=refs,
            sleep=self.online.sleep,
        )

    # --- down 3 → 2 ------------------------------------------------------------------------------

    def carry_back(self, run: StageRun) -> None:
        """Freeze the writers, replay the new table's writes since the flip onto the legacy table, flip back."""
        if self._resume(run, REVERSE):
            return
        online = {k: v for k, v in run.record.online.items() if k != "carriedBack"}  # this run's, once known
        run.record = run.record.with_(online=online)
        config, on = run.config, self.online
        legacy, new = config.legacy.name, new_name(config)
        replayer = on.reverse(config, run.record)
        if not replayer.checkpoints:
            on.progress(f"  no position was saved at the flip: replaying {new}'s stream from its start")
        state = self._capture(run, expect=None)
        tables = {w.table for w in state.writers}
        if tables == {legacy}:
            on.progress(f"  the writers already use {legacy} (never flipped): nothing to carry back")
            run.record = run.record.with_(online={**run.record.online, "carriedBack": {"writes": 0, "freeze": None}})
            on.save(run.record)
            return
        if tables != {new}:
            raise FreezeError(
                f"The writers do not all use {new}: {', '.join(f'{w.function}={w.table}' for w in state.writers)}.",
                hint=f"Point every writer's table variable at {new} or {legacy} (the same for all), then rerun.",
            )
        window = self._window(run, replayer, REVERSE, state=state)
        carried = {"writes": window.replay.records - window.replay.skipped, "freeze": window.to_dict()}
        online = {**run.record.online, "carriedBack": carried}
        run.record = on.account(run.record.with_(online=online), "catchUpBack", window.replay)
        on.save(run.record)
        run.warnings += list(window.warnings)
        on.progress(f"  carried {carried['writes']} write(s) made to {new} back to {legacy}; writers on {legacy}")

    # --- the window, and a rerun after a crash ---------------------------------------------------

    def _capture(self, run: StageRun, *, expect: str | None) -> FreezeState:
        config = run.config
        writers = config.online.resolve_writers(self.online.stack.outputs().get("consumerFunctionName"))
        return capture(self.online.client("lambda"), writers, hook=config.online.freeze_hook, expect_table=expect)

    def _window(
        self,
        run: StageRun,
        replayer: Replayer,
        direction: str,
        *,
        carry: Sequence[KeyRef] = (),
        state: FreezeState | None = None,
    ) -> WindowResult:
        config, on = run.config, self.online
        legacy, new = config.legacy.name, new_name(config)
        source, target = (legacy, new) if direction == FORWARD else (new, legacy)
        state = state or self._capture(run, expect=source)
        hook = load_freeze_hook(config.online.freeze_hook) if config.online.freeze_hook else None
        context = {"stack": on.stack.name, "direction": direction, "from": source, "to": target}
        recorded = CutoverState(direction, "frozen", state.to_dict(), source, target, on.now())
        run.record = run.record.with_(cutover=recorded.to_dict())  # before any writer is frozen
        on.save(run.record)

        def flipped() -> None:
            if direction == FORWARD:
                self._start_reverse_at_the_end(run)
            run.record = run.record.with_(cutover=recorded.flipped(on.now()).to_dict(), served_traffic=True)
            on.save(run.record)

        def recheck(touched: Sequence[KeyRef]) -> RecheckResult:
            return self._recheck(run, replayer, [*carry, *touched])

        quiet = config.online.catch_up.quiet_seconds
        try:
            return run_window(
                on.client("lambda"),
                state,
                replayer,
                flip_to=target,
                recheck=recheck if direction == FORWARD else None,
                quiet_seconds=quiet,
                hook_fn=hook,
                context=context,
                on_flipped=flipped,
                drain_timeout=max(10.0, 5 * quiet),
            )
        except FreezeError:
            if CutoverState.from_dict(run.record.cutover) == recorded:
                self._restore(run, recorded)  # a second try; run_window put them back already when it could
            raise

    def _start_reverse_at_the_end(self, run: StageRun) -> None:
        """At the flip (writers frozen, stream drained): going back replays the new table's stream from here."""
        try:
            self.online.reverse(run.config, run.record).advance_to_end()
        except ReplayImpossibleError as e:
            self.online.progress(f"  going back will not carry writes back: {e.message}")

    def _resume(self, run: StageRun, direction: str) -> bool:
        """Deal with a window a crash left behind; True when it got as far as the flip in ``direction``."""
        state = CutoverState.from_dict(run.record.cutover)
        if state is None:
            return False
        if state.direction == direction and state.phase == FLIPPED:
            warnings = self._unfreeze(run, state)
            run.warnings += warnings
            self.online.progress(
                f"  the writers were flipped to {state.to_table} by an earlier run: unfrozen; the update follows"
            )
            return True
        self._restore(run, state)
        self.online.progress(f"  an earlier run was interrupted {state.describe()}: writers restored, starting again")
        return False

    def _restore(self, run: StageRun, state: CutoverState) -> None:
        """Frozen: every writer back on its table, unfrozen. Flipped (the other way): unfrozen where it is."""
        freeze = FreezeState.from_dict(state.freeze)
        if state.phase != FLIPPED:
            flip_back(self.online.client("lambda"), freeze, sleep=self.online.sleep)
        run.warnings += self._unfreeze(run, state)
        run.record = run.record.with_(cutover=None)
        self.online.save(run.record)

    def _unfreeze(self, run: StageRun, state: CutoverState) -> list[str]:
        spec = run.config.online.freeze_hook
        hook = load_freeze_hook(spec) if spec else None
        context = {"stack": self.online.stack.name, "direction": state.direction, "from": state.from_table}
        try:
            return unfreeze(
                self.online.client("lambda"),
                FreezeState.from_dict(state.freeze),
                hook_fn=hook,
                context={**context, "to": state.to_table},
                sleep=self.online.sleep,
            )
        except MigrationError as e:
            raise FreezeError(
                f"Unfreezing the writers recorded by an interrupted run failed: {e.message}",
                hint="Rerun; or restore by hand what the record's cutover entry lists (reserved concurrency, "
                "event source mappings).",
            ) from e


def _chunks(refs: Iterable[KeyRef], size: int) -> Iterable[list[KeyRef]]:
    iterator = iter(refs)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _still(refs: Sequence[KeyRef], result: RecheckResult, replayer: Replayer) -> list[KeyRef]:
    """The refs whose target key (or unresolved source key) the re-check still found different."""
    item_map = replayer.source.item_map
    target = {_plain_bytes(k) for k in result.differing}
    source = {_plain_bytes(k) for k in result.unresolved}
    kept = []
    for ref in refs:
        targets = list(ref.target_keys)
        if ref.source_key is not None and item_map.key_of_source_key is not None:
            with contextlib.suppress(RejectError, CanonicalError):
                targets.append(item_map.key_of_source_key(ref.source_key))
        hit = any(key_bytes(t, item_map.target_keys) in target for t in targets)
        if ref.source_key is not None and key_bytes(ref.source_key, item_map.source_keys) in source:
            hit = True
        if hit or (ref.source_key is not None and not targets):
            kept.append(ref)
    return kept or list(refs)


def _plain_bytes(key: Mapping[str, str]) -> bytes:
    return orjson.dumps(dict(key))


def _as_result(done: PassResult) -> ReplayResult:
    return ReplayResult().plus(done).finished(caught_up=True)
