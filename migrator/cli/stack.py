"""``migrate up | down | status | plan | catch-up | demo``: the staged migration of one Pulumi stack.

Every command builds its stack through :func:`open_stack` (tests replace that one function with a
double) and calls :class:`~migrator.orchestrate.migration.Migration`; nothing here knows how a stage works.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from migrator.cli.app import app, call, emit, progress
from migrator.core.errors import BadInputError
from migrator.core.online_config import check_max_lag
from migrator.core.stages import check_stage, plan_up
from migrator.orchestrate.migration import Migration

StageOpt = Annotated[int, typer.Option("--stage", help="The stage to go to: 0 legacy … 4 retire.", show_default=False)]
StackOpt = Annotated[
    str,
    typer.Option(
        "--stack", envvar="PULUMI_STACK", help="The Pulumi stack to migrate (default: $PULUMI_STACK, else dev)."
    ),
]
WorkDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--work-dir",
        help="The Pulumi project folder (with Pulumi.yaml). Default: this repository.",
        show_default=False,
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout; progress stays on stderr.")]
DriftOpt = Annotated[
    bool,
    typer.Option("--allow-drift", help="Cut over (stage 3) even when the legacy table changed after the export."),
]
DiscardOpt = Annotated[
    bool,
    typer.Option(
        "--discard-new-writes",
        help="Go back from stage 3 without carrying the new table's writes since cutover back (online mode).",
    ),
]

LoseOpt = Annotated[
    bool,
    typer.Option(
        "--lose-new-table-writes",
        help="Drop the new table (down to stage 1) even when it served traffic, or when the migration record that "
        "would say so is missing: every write only the new table holds is lost.",
    ),
]


def default_work_dir() -> Path:
    """The folder holding this repository's Pulumi.yaml; else the current directory."""
    repo = Path(__file__).resolve().parents[2]
    return repo if (repo / "Pulumi.yaml").is_file() else Path.cwd()


def open_stack(stack: str, work_dir: Path, *, create: bool) -> Any:
    """The one place the CLI gets a stack: the Pulumi workspace of ``stack`` in ``work_dir``.

    Tests replace this function (``monkeypatch.setattr(migrator.cli.stack, "open_stack", ...)``).
    """
    from migrator.engine.workspace import (
        PulumiWorkspace,  # imports pulumi.automation; only commands that need a stack pay for it
    )

    return PulumiWorkspace.open(stack=stack, work_dir=work_dir, create=create)


def _migration(stack: str, work_dir: Path | None, *, stage: int | None = None) -> Migration:
    if stage is not None:
        check_stage(stage)  # a stage outside 0..4 is refused before anything is opened or started
    folder = (work_dir or default_work_dir()).resolve()
    port = open_stack(stack, folder, create=False)
    return Migration(port, progress=progress, lock_scope=str(folder))


def confirm(question: str, *, yes: bool) -> None:
    """Ask ``question`` on a terminal; without one, refuse unless ``--yes`` was given."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise BadInputError(f"{question} needs confirmation, and there is no terminal to ask.", hint="Pass --yes.")
    if not typer.confirm(question, default=False, err=True):
        raise BadInputError("Not confirmed; nothing was changed.", hint="Run it again and answer y, or pass --yes.")


@app.command()
def up(
    stage: StageOpt,
    stack: StackOpt = "dev",
    work_dir: WorkDirOpt = None,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    allow_drift: DriftOpt = False,
) -> None:
    """Run stages current+1 .. N: update the stack and run each stage's steps (safe to rerun)."""

    def run() -> Any:
        migration = _migration(stack, work_dir, stage=stage)
        status = migration.status()
        moves = plan_up(status.completed_stage, stage)
        risky = [m.stage for m in moves if m.stage >= 3]
        if risky:
            what = " and ".join(f"stage {s} ({'cutover' if s == 3 else 'retire'})" for s in risky)
            confirm(f"Stack {status.stack}: apply {what}?", yes=yes)
        return migration.up(stage, allow_drift=allow_drift)

    result = call(run)
    if result.open_conflicts:  # the stage is recorded; the data needs a decision before stage 4
        progress(
            f"error: {result.open_conflicts} late write(s) conflict with newer writes on the new table; list them "
            "with `migrate conflicts` and resolve each (--apply or --drop) before `migrate up --stage 4`."
        )
    emit(result, json_output=json_output, text=lambda r: r.text(), exit_code=1 if result.open_conflicts else 0)


@app.command()
def down(
    stage: StageOpt,
    stack: StackOpt = "dev",
    work_dir: WorkDirOpt = None,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
    discard_new_writes: DiscardOpt = False,
    lose_new_table_writes: LoseOpt = False,
) -> None:
    """Go back to stage N where that is safe (3→2, 2→1 before cutover); online, 3→2 carries writes back."""

    def run() -> Any:
        migration = _migration(stack, work_dir, stage=stage)
        status = migration.status(stale_ok=True)  # `down` goes back from a stale stack file too
        current = max(status.stage, status.completed_stage)
        if stage < current:
            confirm(f"Stack {status.stack}: go back from stage {current} to {stage}?", yes=yes)
        return migration.down(stage, discard_new_writes=discard_new_writes, lose_new_table_writes=lose_new_table_writes)

    result = call(run)
    emit(result, json_output=json_output, text=lambda r: r.text())


@app.command()
def status(stack: StackOpt = "dev", work_dir: WorkDirOpt = None, json_output: JsonOpt = False) -> None:
    """Where the stack stands: stage, tables, export and import, last verification."""
    result = call(lambda: _migration(stack, work_dir).status())
    emit(result, json_output=json_output, text=lambda r: r.text())


@app.command()
def unlock(
    stack: StackOpt = "dev", work_dir: WorkDirOpt = None, yes: YesOpt = False, json_output: JsonOpt = False
) -> None:
    """Remove the lock a run left behind when that run is gone (asks first; a live run here is refused)."""
    result = call(lambda: _migration(stack, work_dir).unlock(confirm=lambda question: confirm(question, yes=yes)))
    emit(result, json_output=json_output, text=lambda r: r.text())


@app.command()
def plan(stage: StageOpt, stack: StackOpt = "dev", work_dir: WorkDirOpt = None, json_output: JsonOpt = False) -> None:
    """What `up --stage N` would do: the preview of the update and the steps. Changes nothing."""
    result = call(lambda: _migration(stack, work_dir, stage=stage).plan(stage))
    emit(result, json_output=json_output, text=lambda r: r.text())


@app.command("catch-up")
def catch_up(
    stack: StackOpt = "dev",
    work_dir: WorkDirOpt = None,
    max_lag: Annotated[
        float | None,
        typer.Option(
            "--max-lag",
            help="Caught up once the lag stays under this many seconds, at most 3600 (default: catchUp).",
        ),
    ] = None,
    drop_reject: Annotated[
        list[str] | None,
        typer.Option(
            "--drop-reject",
            help='Give up a pending reject: its legacy key as JSON (\'{"Name": "…"}\'); repeatable. Recorded.',
        ),
    ] = None,
    drop_all_rejects: Annotated[
        bool, typer.Option("--drop-all-rejects", help="Give up every pending reject (recorded).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Replay the writes made since the last replay, between stages (online mode); run it at least daily.

    Before cutover the legacy table's writes go onto the new table; after it, the new table's onto the
    legacy one. A reject stays pending (exit 1, keys shown) until its item maps cleanly (each catch-up
    reads it again) or it is dropped with --drop-reject KEY / --drop-all-rejects. Exit 0 caught up;
    1 rejects pending, a trimmed stream or not caught up; 2 bad input.
    """

    def run() -> Any:
        lag = check_max_lag(max_lag)  # before the stack is opened: bad input changes nothing
        if drop_reject and drop_all_rejects:
            raise BadInputError("--drop-reject and --drop-all-rejects were both given.", hint="Use one of them.")
        return _migration(stack, work_dir).catch_up(
            max_lag=lag, drop_rejects=tuple(drop_reject or ()), drop_all_rejects=drop_all_rejects
        )

    result = call(run)
    if not result.ok:
        progress(f"error: {result.problem()}")
    emit(result, json_output=json_output, text=lambda r: r.text(), exit_code=0 if result.ok else 1)


@app.command()
def demo(
    items: Annotated[int, typer.Option("--items", min=1, help="How many sample items to seed MyTable with.")] = 1000,
    write_rate: Annotated[
        float,
        typer.Option(
            "--write-rate", min=0.0, help="Requests a second the simulated consumer makes all along (0: none)."
        ),
    ] = 20.0,
    no_install: Annotated[
        bool, typer.Option("--no-install", help="Do not install the pulumi CLI when it is missing; stop instead.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """A local rehearsal, no AWS account needed: moto in-process, a throwaway file backend, stages 0→4,
    with a simulated consumer writing throughout (online migration)."""
    from migrator.demo.local import run_demo

    result = call(lambda: run_demo(items=items, write_rate=write_rate, progress=progress, install=not no_install))
    if not result.ok:
        progress(f"error: {result.problem()}")
    emit(result, json_output=json_output, text=lambda r: r.text(), exit_code=0 if result.ok else 1)


@app.command()
def conflicts(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help='Conflicts to resolve: each an id as listed, or a key as JSON (\'{"UUID": "…"}\').', show_default=False
        ),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the late image of each named conflict onto the new table.")
    ] = False,
    drop: Annotated[
        bool, typer.Option("--drop", help="Keep the new table's item: drop each named conflict's late write.")
    ] = False,
    every: Annotated[bool, typer.Option("--all", help="With --apply or --drop: every open conflict.")] = False,
    stack: StackOpt = "dev",
    work_dir: WorkDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Late writes that reached the legacy table after the flip onto items changed since on the new table.

    Without options, list them (exit 1 while any is open). `--apply KEY` writes the late image onto the
    new table (only if its item is still the one listed), `--drop KEY` keeps the new table's item;
    `--all --apply` or `--all --drop` every open one. Each resolution is recorded. `up --stage 4` is
    refused while a conflict is open.
    """
    from migrator.orchestrate.conflict_steps import APPLIED, DROPPED, Resolution

    def run() -> Any:
        hint = "Use `--apply KEY…` or `--drop KEY…`, or `--all --apply` / `--all --drop`."
        named = tuple(keys or ())
        if apply and drop:
            raise BadInputError("--apply and --drop were both given; one decision per run.", hint=hint)
        action = APPLIED if apply else DROPPED if drop else None
        if action is None and (every or named):
            raise BadInputError("Say what to do with them: --apply or --drop.", hint=hint)
        if action is not None and every == bool(named):
            raise BadInputError("Name the conflicts, or give --all (not both).", hint=hint)
        resolution = Resolution(action, named, every) if action is not None else None
        return _migration(stack, work_dir).conflicts(resolution)

    result = call(run)
    emit(result, json_output=json_output, text=lambda r: r.text(), exit_code=1 if result.open else 0)
