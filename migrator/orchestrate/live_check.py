"""Stage 3's check while writes flow: verify legacy against new, then re-check what differed until it is real.

Every key that differed in the scan is read again on both sides (consistent reads) once the replay has
passed the end of the scan, and again after another pass while it still differs: what differs every
time is a real difference and stops the cutover before any freeze. Then short passes re-check the keys
written since the previous pass until that set is small, so the freeze has little left to check.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence

import orjson

from migrator.core.canonical import CanonicalError, key_bytes
from migrator.core.derive import Deriver, RejectError
from migrator.core.errors import VerificationError
from migrator.core.replay_plan import KeyRef
from migrator.data.stream.recheck import RecheckResult, recheck_keys
from migrator.data.stream.replay import Replayer
from migrator.data.stream.replay_result import PassResult, ReplayResult
from migrator.data.verify.keys import verify_tables_keys
from migrator.orchestrate.context import StageRun, StepContext, new_table
from migrator.orchestrate.offline_steps import verify_summary
from migrator.orchestrate.stream_steps import add_replay, check_clean

RECHECK_ROUNDS = 3  # a key must still differ after this many re-checks, each after a replay pass, to count
RECHECK_CHUNK = 500
SMALL_ENOUGH = 200  # keys written since the previous pass: few enough to leave to the freeze's re-check
SHORT_PASSES = 5


class LiveCheck:
    """The live verification and re-checks of one stack's cutover."""

    def __init__(self, context: StepContext) -> None:
        self._ctx = context

    def verify(self, run: StageRun, replayer: Replayer) -> tuple[list[KeyRef], float]:
        config = run.config
        legacy, new = config.legacy.name, new_table(config).name
        deriver = Deriver(config.derive)
        report, keys = verify_tables_keys(
            self._ctx.aws.settings(), source_table=legacy, target_table=new, deriver=deriver
        )
        with keys:
            # The replay passes the end of the scan: every write the scan may have seen is applied by then.
            passed = replayer.catch_up(max_lag=config.online.catch_up.max_lag_seconds, in_a_row=2, timeout=60)
            check_clean(passed, legacy)
            real: list[dict[str, str]] = []
            for chunk in _chunks(keys.refs(), RECHECK_CHUNK):
                real += self._recheck_stable(run, replayer, chunk)
        summary = dataclasses.replace(
            verify_summary(report, self._ctx.now()),
            identical=not real and not report.rejects,
            missing_count=0,
            extra_count=0,
            changed_count=len(real),
            while_writes_flowed={k: getattr(report, f"{k}_count") for k in ("missing", "extra", "changed")},
            rechecked_keys=len(keys),
        ).to_dict()
        run.record = add_replay(run.record.with_(verify={**run.record.verify, "live": summary}), "catchUp", passed)
        self._ctx.save(run.record)
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
        return self._short_passes(run, replayer, passed.lag_seconds)

    def _short_passes(self, run: StageRun, replayer: Replayer, lag: float) -> tuple[list[KeyRef], float]:
        """Re-check the keys written since the previous pass until they are few enough for the freeze."""
        legacy, new = run.config.legacy.name, new_table(run.config).name
        carry: list[KeyRef] = []
        for _ in range(SHORT_PASSES):
            done = replayer.run_pass(collect_keys=True)
            run.record = add_replay(run.record, "catchUp", _as_result(done))
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
        self._ctx.save(run.record)
        return carry, lag

    def _recheck_stable(self, run: StageRun, replayer: Replayer, refs: Sequence[KeyRef]) -> list[dict[str, str]]:
        """Keys that still differ after RECHECK_ROUNDS re-checks, each after one more replay pass."""
        left = list(refs)
        differing: list[dict[str, str]] = []
        for round_ in range(RECHECK_ROUNDS):
            if round_:
                check_clean(_as_result(replayer.run_pass()), run.config.legacy.name)
            result = self.recheck(run, replayer, left)
            differing = [*result.differing, *result.unresolved]
            if not differing and not result.rejects:
                return []
            left = _still(left, result, replayer)
        return differing

    def recheck(self, run: StageRun, replayer: Replayer, refs: Sequence[KeyRef]) -> RecheckResult:
        """Read ``refs`` again on both tables (consistent reads) and compare them through the item map."""
        return recheck_keys(
            self._ctx.aws.client("dynamodb"),
            source_table=run.config.legacy.name,
            target_table=new_table(run.config).name,
            item_map=replayer.source.item_map,
            keys=refs,
            sleep=self._ctx.clock.sleep,
        )


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
