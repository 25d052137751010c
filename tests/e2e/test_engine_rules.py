"""Rules of the real Pulumi engine the migration must live with, on the engine double that models them.

Each test is named after a defect found by reading the engine's and the SDK's sources: the double
refuses what the engine refuses, so these tests fail when the migrator relies on something the
engine would not do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
from migrator.cli import app
from migrator.core.errors import MigrationError, PulumiError
from migrator.demo.project import write_project
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import LEGACY, NEW, STACK, kill_the_run, missing_from_new, moto_snapshot, stack_records
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks

ITEMS = 40


@pytest.fixture
def cli(engine: MockEngineStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """``cli("plan", "--stage", "4")``: run ``migrate`` on the double's stack."""
    monkeypatch.setattr(cli_stack, "open_stack", lambda stack, work_dir, *, create: engine)

    def run(*args: str) -> Any:
        extra = ["--yes"] if args[0] in ("up", "down") else []
        return CliRunner().invoke(app, [*args, "--stack", STACK, "--work-dir", str(tmp_path), *extra])

    return run


def _everything(engine: MockEngineStack, moto: Moto) -> Any:
    return engine.get_config(), dict(engine.state), engine.updates, moto_snapshot(moto)


def test_plan_stage_4_after_stage_3_shows_the_retained_delete_and_changes_nothing(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    cli: Callable[..., Any],
) -> None:
    # Given stage 3 done
    seed(engine, moto, ITEMS)
    make_migration().up(3)
    before = _everything(engine, moto)

    # when planning stage 4
    result = cli("plan", "--stage", "4", "--json")

    # then the preview shows the legacy table leaving the stack as a retain, the guard allows it,
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["previewStage"] == 4 and plan["guard"] == {"ok": True, "refusal": None}
    (legacy,) = [c for c in plan["preview"]["changes"] if c["name"] == "table-legacy"]
    assert (legacy["kind"], legacy["physicalId"]) == ("retain", LEGACY)
    # and nothing changed: config, state (no unprotect), updates, AWS.
    assert _everything(engine, moto) == before


def test_a_refused_stage_4_leaves_the_state_as_it_was(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], make_migration: Callable[..., Migration]
) -> None:
    # Given stage 3 done, and a key change of the new table that stage 4's preview must refuse
    seed(engine, moto, ITEMS)
    make_migration().up(3)
    engine.set_config({"newTable": {"name": NEW, "partitionKey": {"name": "Id", "type": "S"}}})
    state = dict(engine.state)

    # when stage 4 is asked for, then it is refused and the state is untouched (nothing ran out of band).
    with pytest.raises(MigrationError, match="replace"):
        make_migration().up(4)
    assert engine.state == state
    assert engine.get_config()["stage"] == "3"


# --- assets are hashed at registration, relative to the program's folder ------------------------------


def test_the_double_runs_the_program_from_the_work_dir_and_refuses_a_missing_asset(
    moto: Moto, config: dict[str, Any], tmp_path: Path
) -> None:
    # Given the project copied as the demo copies it, with the consumer's handler missing from the copy
    project = write_project(tmp_path / "project")
    (project / "functions" / "hello_world" / "handler.py").unlink()
    engine = MockEngineStack(STACK, config, program_under_mocks, work_dir=project)

    # then the engine double refuses the preview (and the update) as the engine would, naming the archive.
    with pytest.raises(PulumiError, match='failed to compute archive hash for "code"'):
        engine.preview()
    with pytest.raises(PulumiError, match="hello_world/handler.py"):
        engine.up()
    assert engine.state == {}


def test_the_demo_s_copied_project_declares_what_the_repository_declares(
    moto: Moto, config: dict[str, Any], tmp_path: Path
) -> None:
    # Given the repository and a copy of it as `migrate demo` makes it
    project = write_project(tmp_path / "project")
    copied = MockEngineStack(STACK, config, program_under_mocks, work_dir=project)
    repository = MockEngineStack(STACK, config, program_under_mocks)

    # then the copy runs its own files (its handler) and otherwise declares the same resources.
    (function,) = [d for d in copied._declare().resources if d.name == "hello-world"]
    assert ("code", "archive", str(project.resolve() / "functions" / "hello_world" / "handler.py")) in function.assets
    names = sorted((d.type, d.name) for d in copied._declare().resources)
    assert names == sorted((d.type, d.name) for d in repository._declare().resources)


# --- a pending create of the new table after a crash in stage 2's update ------------------------------


class Killed(BaseException):
    """The process dies here (nothing on the way may handle it as an error)."""


def _kill_the_import(engine: MockEngineStack, *, after_aws_started: bool) -> None:
    """Stage 2's update dies while the provider creates the new table by ImportTable (hours, for real)."""
    real = engine._import_table

    def dies(*args: Any, **kwargs: Any) -> None:
        del engine._import_table  # dies once: the rerun's engine imports normally
        if after_aws_started:
            real(*args, **kwargs)  # AWS made the table; the engine never heard back
        raise Killed("pulumi up killed during ImportTable")

    engine._import_table = dies  # type: ignore[method-assign]


@pytest.mark.parametrize("after_aws_started", [True, False], ids=["table-made", "table-not-made"])
def test_a_crash_during_stage_2_s_import_is_resumed_by_the_rerun(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    progress_lines: list[str],
    after_aws_started: bool,
) -> None:
    # Given stage 1 done, and stage 2's update killed while the new table was being created
    items = seed(engine, moto, ITEMS)
    make_migration().up(1)
    _kill_the_import(engine, after_aws_started=after_aws_started)
    with pytest.raises(Killed):
        make_migration().up(2)
    kill_the_run(moto, engine)
    (pending,) = engine.pending_creates()
    assert (pending.name, pending.physical_name) == ("table-new", NEW)
    assert (NEW in moto.dynamodb.list_tables()["TableNames"]) is after_aws_started

    # when `migrate up --stage 2` runs again
    result = make_migration().up(2)

    # then it adopted the table that AWS made (or cleared the pending create and made it), checked the
    # import and verified it: stage 2 done, no pending operation left, every item in the new table.
    assert result.stages_run == (2,)
    assert engine.pending_creates() == [] and "pending_operations" not in engine.export_deployment()
    assert any(("adopting it" if after_aws_started else "created anew") in line for line in progress_lines)
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert (stack_records(moto, engine).load("progress") or {})["importCheck"]["importedCount"] == ITEMS
