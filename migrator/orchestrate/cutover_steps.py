"""Stage 3's online cutover and ``down``'s carry-back: writes keep flowing, the writers freeze for seconds.

Cutover (before stage 3's update), in seven steps:

1. catch up until the lag stays under ``catchUp.maxLagSeconds`` for a few passes in a row;
2. verify legacy against new while writes flow, and re-check what differed until only real
   differences are left, which stop the cutover before any freeze (:mod:`migrator.orchestrate.live_check`);
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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from migrator.core.config import MigrationConfig
from migrator.core.cutover_state import FLIPPED, FORWARD, REVERSE, CutoverState
from migrator.core.errors import DataError, FreezeError, MigrationError, ReplayImpossibleError
from migrator.core.online_config import FreezeHook, load_freeze_hook
from migrator.core.replay_plan import KeyRef
from migrator.core.stages import CARRY_BACK, CUTOVER
from migrator.data.stream.freeze import FreezeState, capture, flip_back, unfreeze
from migrator.data.stream.recheck import RecheckResult
from migrator.data.stream.replay import Replayer
from migrator.data.stream.window import WindowResult, run_window
from migrator.orchestrate.context import StageRun, StepContext, new_table
from migrator.orchestrate.live_check import LiveCheck
from migrator.orchestrate.stream_steps import StreamSteps, add_replay

CUTOVER_CATCH_UP_TIMEOUT = 1800.0


class CutoverSteps:
    """The freeze windows of one stack, built on the replayers of :class:`StreamSteps`."""

    def __init__(self, context: StepContext, stream: StreamSteps) -> None:
        self._ctx = context
        self._stream = stream
        self._live = LiveCheck(context)
        self.catch_up_timeout = CUTOVER_CATCH_UP_TIMEOUT

    def handlers(self) -> dict[str, Callable[[StageRun], None]]:
        """Step name → handler."""
        return {CUTOVER: self.cutover, CARRY_BACK: self.carry_back}

    # --- stage 3 ---------------------------------------------------------------------------------

    def cutover(self, run: StageRun) -> None:
        """Steps 1-7 of the module docstring (before stage 3's update)."""
        if self._resume(run, FORWARD):
            return
        config = run.config
        legacy, new = config.legacy.name, new_table(config).name
        replayer = self._stream.forward_replayer(config, run.record)
        # 1. catch up
        caught = replayer.catch_up(max_lag=config.online.catch_up.max_lag_seconds, timeout=self.catch_up_timeout)
        run.record = add_replay(run.record, "catchUp", caught)
        self._ctx.save(run.record)
        self._stream.check_pending(run, caught)  # no freeze while a reject is pending
        if not caught.caught_up:
            raise DataError(
                f"The replay of {legacy}'s writes did not get under {config.online.catch_up.max_lag_seconds:g} s of "
                f"lag within {self.catch_up_timeout:.0f} s (lag {caught.lag_seconds:.1f} s): writes come faster than "
                "it applies them. Nothing was frozen.",
                hint="Rerun when the write rate is lower, or raise table-migration:catchUp.maxLagSeconds.",
            )
        # 2. verify while writes flow, re-check what differed, then short re-check passes
        carry, lag = self._live.verify(run, replayer)
        # 3-7. the freeze window; the new table's stream is read to its end first, so that the flip reads little
        primed = self._prime_reverse(run)
        self._ctx.progress(f"  caught up (lag {lag:.1f} s); freezing the writers")
        window = self._window(run, replayer, FORWARD, carry=carry, primed=primed)
        freeze = {**window.to_dict(), "lagAtFreeze": round(lag, 3)}
        online = {**run.record.online, "freeze": freeze}
        run.record = add_replay(run.record.with_(online=online), "catchUp", window.replay)
        self._ctx.save(run.record)
        run.warnings += list(window.warnings)
        self._ctx.progress(
            f"  writers on {new}: frozen {window.seconds:.2f} s, {freeze['recordsReplayed']} writes replayed in the "
            "freeze"
        )

    # --- down 3 → 2 ------------------------------------------------------------------------------

    def carry_back(self, run: StageRun) -> None:
        """Freeze the writers, replay the new table's writes since the flip onto the legacy table, flip back."""
        if self._resume(run, REVERSE):
            return
        online = {k: v for k, v in run.record.online.items() if k != "carriedBack"}  # this run's, once known
        run.record = run.record.with_(online=online)
        config = run.config
        legacy, new = config.legacy.name, new_table(config).name
        replayer = self._stream.reverse_replayer(config, run.record)
        if not replayer.checkpoints:
            self._ctx.progress(f"  no position was saved at the flip: replaying {new}'s stream from its start")
        state = self._capture(run, expect=None)
        tables = {w.table for w in state.writers}
        if tables == {legacy}:
            self._ctx.progress(f"  the writers already use {legacy} (never flipped): nothing to carry back")
            run.record = run.record.with_(online={**run.record.online, "carriedBack": {"writes": 0, "freeze": None}})
            self._ctx.save(run.record)
            return
        if tables != {new}:
            raise FreezeError(
                f"The writers do not all use {new}: {', '.join(f'{w.function}={w.table}' for w in state.writers)}.",
                hint=f"Point every writer's table variable at {new} or {legacy} (the same for all), then rerun.",
            )
        window = self._window(run, replayer, REVERSE, state=state)
        carried = {"writes": window.replay.records - window.replay.skipped, "freeze": window.to_dict()}
        online = {**run.record.online, "carriedBack": carried}
        run.record = add_replay(run.record.with_(online=online), "catchUpBack", window.replay)
        self._ctx.save(run.record)
        run.warnings += list(window.warnings)
        self._ctx.progress(
            f"  carried {carried['writes']} write(s) made to {new} back to {legacy}; writers on {legacy}"
        )

    # --- the window, and a rerun after a crash ---------------------------------------------------

    def _capture(self, run: StageRun, *, expect: str | None) -> FreezeState:
        config = run.config
        writers = config.online.resolve_writers(self._ctx.stack.outputs().get("consumerFunctionName"))
        return capture(self._ctx.aws.client("lambda"), writers, hook=config.online.freeze_hook, expect_table=expect)

    def _window(
        self,
        run: StageRun,
        replayer: Replayer,
        direction: str,
        *,
        carry: Sequence[KeyRef] = (),
        state: FreezeState | None = None,
        primed: Mapping[str, Any] | None = None,
    ) -> WindowResult:
        config = run.config
        legacy, new = config.legacy.name, new_table(config).name
        source, target = (legacy, new) if direction == FORWARD else (new, legacy)
        state = state or self._capture(run, expect=source)
        hook = _freeze_hook(config)
        context = {"stack": self._ctx.stack.name, "direction": direction, "from": source, "to": target}
        recorded = CutoverState(direction, "frozen", state.to_dict(), source, target, self._ctx.now())
        run.record = run.record.with_(cutover=recorded.to_dict())  # before any writer is frozen
        self._ctx.save(run.record)

        def flipped() -> None:
            if direction == FORWARD:
                self._start_reverse_at_the_end(run, primed)
            run.record = run.record.with_(cutover=recorded.flipped(self._ctx.now()).to_dict(), served_traffic=True)
            self._ctx.save(run.record)

        def recheck(touched: Sequence[KeyRef]) -> RecheckResult:
            return self._live.recheck(run, replayer, [*carry, *touched])

        quiet = config.online.catch_up.quiet_seconds
        try:
            return run_window(
                self._ctx.aws.client("lambda"),
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

    def _prime_reverse(self, run: StageRun) -> dict[str, Any]:
        """Before the freeze: move going back's start, and the late-write check's, to the new table's stream end.

        Until the flip that stream holds only the replay's own writes; read now, while writes flow, the flip
        only has the drain's few to read inside the freeze.
        """
        try:
            self._stream.reverse_replayer(run.config, run.record).advance_to_end()
            return {}
        except ReplayImpossibleError:
            return self._stream.flip_positions(run.config)

    def _start_reverse_at_the_end(self, run: StageRun, primed: Mapping[str, Any] | None = None) -> None:
        """At the flip (writers frozen, stream drained): going back replays the new table's stream from here,
        and late writes are checked against the new table's changes from here (``online.flip``)."""
        try:
            reverse = self._stream.reverse_replayer(run.config, run.record)
            reverse.advance_to_end()
            flip = {"stream": reverse.source.stream_arn, "positions": reverse.checkpoints}
        except ReplayImpossibleError as e:
            self._ctx.progress(f"  going back will not carry writes back: {e.message}")
            flip = self._stream.flip_positions(run.config, primed)
        run.record = run.record.with_(online={**run.record.online, "flip": {**flip, "at": self._ctx.now()}})

    def _resume(self, run: StageRun, direction: str) -> bool:
        """Deal with a window a crash left behind; True when it got as far as the flip in ``direction``."""
        state = CutoverState.from_dict(run.record.cutover)
        if state is None:
            return False
        if state.direction == direction and state.phase == FLIPPED:
            warnings = self._unfreeze(run, state)
            run.warnings += warnings
            self._ctx.progress(
                f"  the writers were flipped to {state.to_table} by an earlier run: unfrozen; the update follows"
            )
            return True
        self._restore(run, state)
        self._ctx.progress(f"  an earlier run was interrupted {state.describe()}: writers restored, starting again")
        return False

    def _restore(self, run: StageRun, state: CutoverState) -> None:
        """Frozen: every writer back on its table, unfrozen. Flipped (the other way): unfrozen where it is."""
        freeze = FreezeState.from_dict(state.freeze)
        if state.phase != FLIPPED:
            flip_back(self._ctx.aws.client("lambda"), freeze, sleep=self._ctx.clock.sleep)
        run.warnings += self._unfreeze(run, state)
        run.record = run.record.with_(cutover=None)
        self._ctx.save(run.record)

    def _unfreeze(self, run: StageRun, state: CutoverState) -> list[str]:
        """Unfreeze what an interrupted run recorded: the Lambda writers first, then (once it loads) the hook's.

        The hook is loaded only after the Lambda writers are restored, so a hook that cannot be imported here
        (another runner, another virtualenv) leaves frozen only the writers it controls, and says so.
        """
        freeze = FreezeState.from_dict(state.freeze)
        lambda_client = self._ctx.aws.client("lambda")
        context = {"stack": self._ctx.stack.name, "direction": state.direction, "from": state.from_table}
        context["to"] = state.to_table
        functions = ", ".join(w.function for w in freeze.writers) or "none"
        try:
            warnings = unfreeze(lambda_client, freeze, sleep=self._ctx.clock.sleep)
        except MigrationError as e:
            raise FreezeError(
                f"Unfreezing the writers an interrupted run left frozen ({functions}) failed: {e.message}",
                hint=f"Rerun `{state.resume_command}`; or restore by hand what the record's cutover entry lists "
                "(reserved concurrency, event source mappings).",
            ) from e
        spec = freeze.hook or run.config.online.freeze_hook
        if not spec:
            return warnings
        try:
            hook = load_freeze_hook(spec)
        except MigrationError as e:
            raise FreezeError(
                f"The Lambda writers ({functions}) are unfrozen, but freezeHook {spec} cannot be loaded here: "
                f"{e.message} The writers it froze (outside Lambda) are still frozen.",
                hint=f"Run `{state.resume_command}` where {spec.partition(':')[0]} is importable (it calls the "
                "hook's unfreeze and goes on), or unfreeze those writers yourself.",
            ) from e
        try:
            return warnings + unfreeze(lambda_client, FreezeState((), spec), hook_fn=hook, context=context)
        except MigrationError as e:
            raise FreezeError(
                f"The Lambda writers ({functions}) are unfrozen, but freezeHook {spec} failed to unfreeze the "
                f"writers it controls: {e.message}",
                hint=f"Fix the hook (or its writers) and run `{state.resume_command}`.",
            ) from e


def _freeze_hook(config: MigrationConfig) -> FreezeHook | None:
    """The config's ``freezeHook``, loaded; None when there is none."""
    return load_freeze_hook(config.online.freeze_hook) if config.online.freeze_hook else None
