"""Where a stack really is: the live writers, the stack's outputs and the record store, read for the rules of
:mod:`migrator.core.evidence` (before a command that cannot be undone) and for ``migrate status``."""

from __future__ import annotations

from typing import Any

from migrator.core import stages as st
from migrator.core.cutover_state import REVERSE, CutoverState
from migrator.core.errors import MigrationError
from migrator.core.evidence import Evidence, LiveWriter, check_cutover_resumed, check_drop, check_up_without_record
from migrator.core.ports import CHECKPOINTS, PROGRESS
from migrator.core.record import RECORD_KEY
from migrator.data.stream.reader import table_stream
from migrator.data.writers import read_writer
from migrator.orchestrate.context import StepContext
from migrator.orchestrate.records import StackReading


def live_writers(ctx: StepContext, reading: StackReading, outputs: dict[str, Any]) -> tuple[LiveWriter, ...]:
    """Each writer the config names (else the stack's consumer function), as Lambda has it now."""
    try:
        writers = reading.config.online.resolve_writers(outputs.get("consumerFunctionName"))
    except MigrationError:
        return ()  # no writer is known: nothing to read
    if not writers:
        return ()
    lambda_client = ctx.aws.client("lambda")
    return tuple(read_writer(lambda_client, writer) for writer in writers)


def record_found(ctx: StepContext, reading: StackReading) -> bool:
    """Whether a migration record exists (in the record store, or where version 0.1 kept it)."""
    return ctx.records.store.load(PROGRESS) is not None or reading.values.get(RECORD_KEY) not in (None, "")


def gather(ctx: StepContext, reading: StackReading) -> Evidence:
    """What the record store, the stack's outputs and Lambda say now (reads only)."""
    outputs = dict(ctx.stack.outputs() or {})
    return Evidence(
        record_found=record_found(ctx, reading),
        record_where=ctx.records.store.where,
        outputs=outputs,
        writers=live_writers(ctx, reading, outputs),
        flip_position=_flip_position(ctx, reading),
    )


def _flip_position(ctx: StepContext, reading: StackReading) -> bool:
    """Whether the record store holds a position on the new table's current stream: one is saved at a flip."""
    new = reading.config.new
    saved = (ctx.records.store.load(CHECKPOINTS) or {}).get(REVERSE) or {}
    if new is None or not saved.get("stream"):
        return False
    try:
        stream = table_stream(ctx.aws.client("dynamodb"), new.name)
    except MigrationError:
        return False  # no new table (or it cannot be read): no position on its stream can count
    return stream is not None and stream.arn == saved["stream"]


def check_up(ctx: StepContext, reading: StackReading, moves: list[st.StageMove], stage: int) -> None:
    """Before ``up --stage N`` changes anything: an interrupted freeze window is resumed only by the command that
    runs it again, and a lost record is not taken for a stack that has not cut over yet."""
    check_cutover_resumed(CutoverState.from_dict(reading.record.cutover), moves, command=f"migrate up --stage {stage}")
    if moves and moves[-1].stage >= 3 and not record_found(ctx, reading):
        new = reading.config.new
        check_up_without_record(gather(ctx, reading), new_table=new.name if new else None, stack=ctx.stack.name)


def check_down(ctx: StepContext, reading: StackReading, moves: list[st.StageMove], *, stage: int, lose: bool) -> None:
    """Before ``down --stage N`` changes anything: the same rule for a freeze window, and the new table is dropped
    only when the record exists and nothing live says it served traffic (or ``lose``)."""
    check_cutover_resumed(
        CutoverState.from_dict(reading.record.cutover), moves, command=f"migrate down --stage {stage}"
    )
    new = reading.config.new
    if new is None or lose or not any(st.NEW in m.drops for m in moves):
        return
    evidence = gather(ctx, reading)
    check_drop(
        evidence,
        moves,
        record_served=reading.record.served_traffic,
        new_table=new.name,
        stack=ctx.stack.name,
        lose=lose,
    )
