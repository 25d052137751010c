"""``migrate catch-up``, ``down --discard-new-writes`` and ``demo --write-rate/--json`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
import migrator.demo.local as local
from migrator.demo.local import DemoResult
from migrator.orchestrate.migration import Migration
from migrator.report.results import CatchUpResult
from tests.unit.test_cli_stack import run
from tests.unit.test_migration import World, make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A fake stack behind ``open_stack`` and a fake data plane behind every Migration the CLI builds."""
    world = make_world(tmp_path)
    monkeypatch.setattr(cli_stack, "open_stack", lambda stack, work_dir, *, create: world.stack)
    monkeypatch.setattr(
        cli_stack,
        "Migration",
        lambda port, **kw: Migration(port, data=world.data, lock_dir=world.lock_dir, records=world.stack.records, **kw),
    )
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    return world


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _catch_up(caught_up: bool, rejects: int = 0) -> CatchUpResult:
    replay = {"recordsReplayed": 12, "passes": 3, "lagSeconds": 0.4, "caughtUp": caught_up, "rejects": rejects}
    if rejects:
        replay["rejectReasons"] = ["lacks Name"]
    return CatchUpResult("unit", "forward", "MyTable", "MyNewTable", replay)


@pytest.mark.parametrize(
    ("result", "code", "said"),
    [
        (_catch_up(True), 0, None),
        (_catch_up(False), 1, "not caught up"),
        (_catch_up(True, rejects=2), 1, "could not be applied"),
    ],
)
def test_catch_up_exits_0_caught_up_and_1_for_a_data_problem(
    world: World, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, result: CatchUpResult, code: int, said: Any
) -> None:
    asked: list[Any] = []

    def catch_up(
        self: Migration, *, max_lag: float | None = None, timeout: float | None = None, **_: Any
    ) -> CatchUpResult:
        asked.append(max_lag)
        return result

    monkeypatch.setattr(Migration, "catch_up", catch_up)
    out = run(runner, "catch-up", "--max-lag", "1.5", "--json", code=code)
    assert asked == [1.5]
    data = json.loads(out.stdout)
    assert data["catchUp"]["recordsReplayed"] == 12 and data["ok"] is (code == 0)
    assert (said is None and "error" not in out.stderr) or said in out.stderr


def test_catch_up_refuses_bad_input_with_exit_2(world: World, runner: CliRunner) -> None:
    # a lag of 0 is not a threshold
    out = run(runner, "catch-up", "--max-lag", "0", code=2)
    assert "--max-lag" in out.stderr
    # the fake stack migrates offline: nothing to replay, said with the reason
    out = run(runner, "catch-up", code=2)
    assert "offline" in out.stderr


@pytest.mark.parametrize("lag", ["inf", "nan", "-inf", "1e12", "3601", "-2"])
def test_catch_up_max_lag_must_be_finite_and_at_most_an_hour(
    world: World, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, lag: str
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(cli_stack, "open_stack", lambda stack, work_dir, *, create: opened.append(stack))
    out = run(runner, "catch-up", "--max-lag", lag, code=2)
    assert "--max-lag" in out.stderr and "at most 3600" in out.stderr
    assert opened == []  # refused before the stack is opened


@pytest.mark.parametrize("applied", [False, True])
def test_catch_up_at_stage_0_does_not_speak_of_an_export_there_is_none_of(
    world: World, runner: CliRunner, applied: bool
) -> None:
    if applied:
        run(runner, "up", "--stage", "0", code=0)
    world.stack.config["online"] = "true"
    out = run(runner, "catch-up", code=2)
    assert "nothing has been exported yet" in out.stderr and "`migrate up --stage 1`" in out.stderr
    assert "within a day of the export" not in out.stderr  # there is none yet


def test_catch_up_before_stage_2_says_when_to_run_it(world: World, runner: CliRunner) -> None:
    run(runner, "up", "--stage", "1", code=0)
    world.stack.config["online"] = "true"
    out = run(runner, "catch-up", code=2)
    assert "within a day of the export" in out.stderr


def test_down_passes_discard_new_writes(world: World, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []
    real = Migration.down

    def down(self: Migration, stage: int, *, discard_new_writes: bool = False, **flags: bool) -> Any:
        asked.append((discard_new_writes, flags))
        return real(self, stage, discard_new_writes=discard_new_writes, **flags)

    monkeypatch.setattr(Migration, "down", down)
    run(runner, "up", "--stage", "3", "--yes", code=0)
    run(runner, "down", "--stage", "2", "--yes", "--discard-new-writes", code=0)
    assert asked == [(True, {"lose_new_table_writes": False})]


def _demo(missing: int) -> DemoResult:
    writes = {"acknowledged": 40, "missing": missing, "missingSamples": ["w-1"] if missing else [], "throttled": 3}
    report = {"freeze": {"seconds": 1.25, "parts": {"freeze": 0.1}}, "catchUp": {"recordsReplayed": 31}}
    return DemoResult(items=10, stages=(0, 1, 2, 3, 4), report=report, writes={**writes, "rate": 7.0})


@pytest.mark.parametrize(("missing", "code"), [(0, 0), (2, 1)])
def test_demo_json_prints_freeze_writes_and_catch_up_at_the_top(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, missing: int, code: int
) -> None:
    asked: list[dict[str, Any]] = []

    def run_demo(**kwargs: Any) -> DemoResult:
        asked.append(kwargs)
        return _demo(missing)

    monkeypatch.setattr(local, "run_demo", run_demo)
    out = run(runner, "demo", "--items", "10", "--write-rate", "7", "--json", code=code)
    assert asked[0]["write_rate"] == 7.0 and asked[0]["items"] == 10
    data = json.loads(out.stdout)
    assert data["freeze"]["seconds"] == 1.25 and data["catchUp"]["recordsReplayed"] == 31
    assert data["writes"]["acknowledged"] == 40 and data["writes"]["missing"] == missing
    assert (missing == 0) == ("lost them" not in out.stderr)


def test_demo_refuses_a_negative_write_rate(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "run_demo", lambda **_: pytest.fail("the demo ran"))
    run(runner, "demo", "--write-rate", "-1", code=2)


def test_demo_text_says_what_was_written_and_missing(tmp_path: Path) -> None:
    text = _demo(0).text()
    assert "40 acknowledged at 7.0 requests/s (3 throttled" in text and "0 missing from MyNewTable" in text
    assert "freeze: writers frozen 1.25 s" in text
