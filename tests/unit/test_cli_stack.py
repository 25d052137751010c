"""``migrate up | down | status | plan | demo`` through typer's CliRunner, with the stack factory replaced."""

from __future__ import annotations

import json
import re
import tempfile
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from pulumi._version import version as pulumi_sdk_version
from pulumi.automation import PulumiCommand
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
import migrator.demo.local as local
from migrator.cli import app
from migrator.core.errors import BadInputError, StackNotFoundError
from migrator.core.guard import PlannedChange
from migrator.core.ports import LOCK
from migrator.engine.cli_lookup import find_pulumi_cli
from migrator.orchestrate.migration import Migration
from tests.cli_result import exited
from tests.unit.test_migration import LEGACY_URN, TABLE, World, make_world, progress_record, report

# This checkout (tests/unit/ is two levels below it): where the commands find Pulumi.yaml by default.
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A fake stack behind ``open_stack`` and a fake data plane behind every Migration the CLI builds."""
    world = make_world(tmp_path)
    world.opened: list[tuple[str, Path, bool]] = []  # type: ignore[attr-defined]

    def open_stack(stack: str, work_dir: Path, *, create: bool) -> Any:
        world.opened.append((stack, work_dir, create))  # type: ignore[attr-defined]
        return world.stack

    def migration(port: Any, **kwargs: Any) -> Migration:
        return Migration(port, data=world.data, lock_dir=world.lock_dir, records=world.stack.records, **kwargs)

    monkeypatch.setattr(cli_stack, "open_stack", open_stack)
    monkeypatch.setattr(cli_stack, "Migration", migration)
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    return world


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int) -> Any:
    """``migrate *args``; assert it exited with ``code`` on purpose (no exception escaped it)."""
    return exited(runner.invoke(app, list(args)), code)


def test_up_json_prints_one_object_and_exits_0(
    world: World, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a working directory outside the repository, and no --stack or --work-dir
    monkeypatch.chdir(tmp_path)
    result = run(runner, "up", "--stage", "2", "--json", code=0)
    data = json.loads(result.stdout)
    assert data["stage"] == 2 and data["stagesRun"] == [0, 1, 2] and data["stack"] == "unit"
    assert "Stage 1 (export)" in result.stderr  # progress on stderr, not in the JSON
    # then the stack is dev, in this repository (not in the working directory)
    assert world.opened == [("dev", REPOSITORY, False)]  # type: ignore[attr-defined]


def test_stack_and_work_dir_reach_the_factory(world: World, runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "status", "--stack", "prod", "--work-dir", str(tmp_path), code=0)
    assert world.opened == [("prod", tmp_path.resolve(), False)]  # type: ignore[attr-defined]


def test_pulumi_stack_env_is_the_default(world: World, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "staging")
    run(runner, "status", code=0)
    assert world.opened == [("staging", REPOSITORY, False)]  # type: ignore[attr-defined]


def test_default_work_dir_is_this_repository_wherever_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_stack.default_work_dir() == REPOSITORY
    assert (REPOSITORY / "Pulumi.yaml").is_file()


def test_default_work_dir_of_an_installed_package_is_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the package installed outside any checkout (no Pulumi.yaml two levels above migrator/cli/)
    installed = tmp_path / "site-packages" / "migrator" / "cli" / "stack.py"
    monkeypatch.setattr(cli_stack, "__file__", str(installed))
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    # then the project is the folder the command runs in
    assert cli_stack.default_work_dir() == tmp_path / "project"


@pytest.mark.parametrize("stage", ["5", "-1"])
def test_a_stage_outside_0_to_4_exits_2_and_changes_nothing(world: World, runner: CliRunner, stage: str) -> None:
    result = run(runner, "up", "--stage", stage, "--yes", code=2)
    assert "is not a stage" in result.stderr
    assert world.stack.config["stage"] == "0" and world.events == []


@pytest.mark.parametrize("command", ["up", "down", "plan"])
def test_a_stage_outside_0_to_4_is_refused_before_the_stack_is_opened(
    world: World, runner: CliRunner, command: str
) -> None:
    # Without the pulumi CLI, opening the stack would fail first and hide the real mistake.
    result = run(runner, command, "--stage", "7", *(["--yes"] if command != "plan" else []), code=2)
    assert "7 is not a stage" in result.stderr
    assert world.opened == []  # type: ignore[attr-defined]


def test_going_backwards_with_up_exits_2_and_names_down(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "2", code=0)
    result = run(runner, "up", "--stage", "1", code=2)
    assert "migrate down --stage 1" in result.stderr


def test_cutover_without_yes_and_without_a_terminal_refuses(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "2", code=0)
    world.events.clear()
    result = run(runner, "up", "--stage", "3", code=2)
    assert "Pass --yes" in result.stderr
    assert world.stack.config["stage"] == "2" and [e for e in world.events if e[0] == "up"] == []
    run(runner, "up", "--stage", "3", "--yes", code=0)


def test_guard_refusal_exits_1(world: World, runner: CliRunner) -> None:
    world.stack.extra_changes[0] = (PlannedChange(LEGACY_URN, TABLE, "table-legacy", "replace"),)
    result = run(runner, "up", "--stage", "0", code=1)
    assert "error: Refusing to update the stack" in result.stderr


def test_drift_exits_1_and_allow_drift_goes_on(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "2", code=0)
    world.data.live = report(identical=False, missing=4)
    refused = run(runner, "up", "--stage", "3", "--yes", code=1)
    assert "--allow-drift" in refused.stderr
    accepted = run(runner, "up", "--stage", "3", "--yes", "--allow-drift", "--json", code=0)
    assert json.loads(accepted.stdout)["warnings"]


def test_unknown_stack_exits_2(world: World, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(stack: str, work_dir: Path, *, create: bool) -> Any:
        raise StackNotFoundError(f"Stack {stack} does not exist.", hint="Create it with `pulumi stack init`.")

    monkeypatch.setattr(cli_stack, "open_stack", missing)
    result = run(runner, "status", "--stack", "nope", code=2)
    assert "pulumi stack init" in result.stderr


def test_status_in_words_and_json(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "1", code=0)
    text = run(runner, "status", code=0)
    assert "stage 1 (export), done" in text.stdout
    data = json.loads(run(runner, "status", "--json", code=0).stdout)
    assert data["completedStage"] == 1 and data["importSource"]["itemCount"] == 3


def test_plan_json_changes_nothing(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "1", code=0)
    before = json.dumps(world.stack.config, sort_keys=True)
    result = run(runner, "plan", "--stage", "2", "--json", code=0)
    data = json.loads(result.stdout)
    assert data["target"] == 2 and data["previewStage"] == 2 and data["guard"]["ok"] is True
    assert json.dumps(world.stack.config, sort_keys=True) == before


def test_down_needs_confirmation_then_goes_back(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "3", "--yes", code=0)
    run(runner, "down", "--stage", "2", code=2)
    result = run(runner, "down", "--stage", "2", "--yes", code=0)
    assert "since cutover" in result.stdout
    refused = run(runner, "down", "--stage", "1", "--yes", code=2)
    assert "served traffic" in refused.stderr


@pytest.mark.parametrize("command", [("status",), ("up", "--stage", "3", "--yes"), ("plan", "--stage", "3")])
@pytest.mark.parametrize(
    ("progress", "problem"),
    [("not json at all", "is not JSON"), ({"completedStage": "two"}, "completedStage is not a whole number")],
)
def test_a_broken_progress_record_exits_2_with_one_line_naming_the_fix(
    world: World, runner: CliRunner, command: tuple[str, ...], progress: Any, problem: str
) -> None:
    # Given stage 2 done, then the migrator's record damaged by hand
    run(runner, "up", "--stage", "2", code=0)
    world.stack.records.store_text("progress", progress if isinstance(progress, str) else json.dumps(progress))
    before, stored = json.dumps(world.stack.config, sort_keys=True), world.stack.records.snapshot()
    world.events.clear()

    # when a command reads it, then exit 2 with one error line naming the record and the fix, and nothing changed
    result = run(runner, *command, code=2)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: The migration record (progress): {problem}")
    assert "delete the entry" in errors[0]
    assert result.stdout == ""
    assert json.dumps(world.stack.config, sort_keys=True) == before and world.events == []
    assert world.stack.records.snapshot() == stored


@pytest.fixture
def no_cli_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No pulumi CLI anywhere it could be found (empty PATH and HOME); a temp folder we can watch. Returns HOME."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path / "home"


pulumi_version = str(pulumi_sdk_version)


def _installer(monkeypatch: pytest.MonkeyPatch, install: Any) -> list[str | None]:
    """Stub the SDK's installer (tests never download); returns the roots it was asked to install into."""
    roots: list[str | None] = []

    def stub(cls: type, root: str | None = None, version: object = None, skip_version_check: bool = False) -> Any:
        roots.append(root)
        return install(Path(root or ""))

    monkeypatch.setattr(PulumiCommand, "install", classmethod(stub))
    return roots


def test_demo_without_the_pulumi_cli_exits_2_and_leaves_nothing(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_cli_anywhere: Path
) -> None:
    # Given no CLI, and --no-install: the demo must not even try to download one
    def no_server() -> Any:
        raise AssertionError("the demo started moto without a pulumi CLI")

    monkeypatch.setattr(local, "moto_server", no_server)
    roots = _installer(monkeypatch, lambda root: pytest.fail("the installer ran despite --no-install"))
    # when running the demo
    result = run(runner, "demo", "--items", "10", "--no-install", code=2)
    # then it says exactly why, exits 2, and left nothing behind
    assert roots == []
    assert "the demo drives the real Pulumi engine; the pulumi CLI is not installed" in result.stderr
    assert "get.pulumi.com" in result.stderr
    assert list((tmp_path / "tmp").iterdir()) == [] and list(no_cli_anywhere.iterdir()) == []


def test_the_demo_installs_the_missing_cli_and_says_so_in_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, no_cli_anywhere: Path
) -> None:
    # Given no CLI, and an installer (stubbed) that puts one where PulumiCommand.install() puts it
    def install(root: Path) -> Any:
        binary = root / "bin" / "pulumi"
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\necho v3.272.0\n")
        binary.chmod(0o755)
        return PulumiCommand(root=str(root))

    roots = _installer(monkeypatch, install)

    def stop_here() -> Any:
        raise BadInputError("stopped after the CLI check (test)")

    monkeypatch.setattr(local, "moto_server", stop_here)
    # when running the demo (it stops, exit 2, at the stub's bad input right after the CLI check)
    result = run(runner, "demo", "--items", "10", code=2)
    # then it installed the SDK's version into ~/.pulumi/versions/<version>, said so once, and went on
    root = no_cli_anywhere / ".pulumi" / "versions" / pulumi_version
    assert roots == [str(root)]
    assert [line for line in result.stderr.splitlines() if "installing" in line] == [
        f"The pulumi CLI is not installed: installing Pulumi {pulumi_version} into {root} (PulumiCommand.install())."
    ]
    assert "stopped after the CLI check" in result.stderr
    assert find_pulumi_cli() == root / "bin" / "pulumi"


def test_a_failed_cli_download_exits_2_with_the_message_and_leaves_nothing(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_cli_anywhere: Path
) -> None:
    # Given no CLI and no network: the installer gets part way (a folder), then the download fails
    def offline(root: Path) -> Any:
        root.mkdir(parents=True)
        raise urllib.error.URLError("Temporary failure in name resolution")

    roots = _installer(monkeypatch, offline)
    monkeypatch.setattr(local, "moto_server", lambda: pytest.fail("the demo started moto without a pulumi CLI"))

    result = run(runner, "demo", "--items", "10", code=2)

    # then: exit 2 with today's message, and nothing left in HOME or the temp folder
    assert len(roots) == 1
    assert "the demo drives the real Pulumi engine; the pulumi CLI is not installed" in result.stderr
    assert list(no_cli_anywhere.iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("command", [("status",), ("plan", "--stage", "3"), ("up", "--stage", "3", "--yes")])
def test_a_stale_stack_file_exits_2_naming_down(world: World, runner: CliRunner, command: tuple[str, ...]) -> None:
    # Given stage 2 done, and this working copy's stack file back at stage 1 (an old checkout)
    run(runner, "up", "--stage", "2", code=0)
    world.stack.config["stage"] = "1"
    before = json.dumps(world.stack.config, sort_keys=True)

    result = run(runner, *command, code=2)

    assert "migrate down --stage 1" in result.stderr and "roll the stack back" in result.stderr
    assert json.dumps(world.stack.config, sort_keys=True) == before


def test_the_down_a_stale_stack_file_refusal_names_runs_from_that_stack_file(world: World, runner: CliRunner) -> None:
    # Given stage 2 done, and this working copy's stack file back at stage 1: `status` refuses it, naming a down
    run(runner, "up", "--stage", "2", code=0)
    world.stack.config["stage"] = "1"
    named = re.search(r"`(migrate down --stage \d)`", run(runner, "status", code=2).stderr)
    assert named is not None

    # when that very command runs there
    result = run(runner, *named.group(1).split()[1:], "--yes", code=0)

    # then it goes back from where the record says the stack is (2), and the copy is no longer stale.
    assert "went back from stage 2 to 1" in result.stdout
    assert world.stack.config["stage"] == "1" and progress_record(world.stack)["completedStage"] == 0
    assert json.loads(run(runner, "status", "--json", code=0).stdout)["stage"] == 1


def test_unlock_needs_yes_without_a_terminal_and_then_removes_the_stale_lock(world: World, runner: CliRunner) -> None:
    # Given a lock entry left by a run on another machine
    entry = {"host": "ci-runner-7", "pid": 4242, "command": "up --stage 2", "started": 1.7e9, "token": "t"}
    world.stack.records.save(LOCK, entry)

    # when `migrate unlock` runs without a terminal and without --yes, then it exits 2 and removes nothing
    refused = run(runner, "unlock", code=2)
    assert "needs confirmation" in refused.stderr and "--yes" in refused.stderr
    assert world.stack.records.load(LOCK) == entry

    # and with --yes --json it removes it and says whose it was (never its token)
    done = run(runner, "unlock", "--yes", "--json", code=0)
    assert json.loads(done.stdout) == {
        "stack": "unit",
        "removed": True,
        "holder": {"host": "ci-runner-7", "pid": 4242, "command": "up --stage 2", "started": 1.7e9, "renewed": 0.0},
    }
    assert world.stack.records.load(LOCK) is None
    assert "no lock entry" in run(runner, "unlock", code=0).stdout
