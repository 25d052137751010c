"""A crash after any step, then a rerun of the same command: it finishes, with every item and one export."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from migrator.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import export_count, fast_data_plane, missing_from_new
from tests.e2e.mock_engine import MockEngineStack

ITEMS = 300


class Crash(BaseException):
    """The process dies here (a BaseException: nothing on the way may treat it as an error to handle)."""


class CrashOnce:
    """A data plane that dies once at ``point``, after (or, for the export's start, during) the real work."""

    def __init__(self, inner: Any, point: str) -> None:
        self.inner = inner
        self.point = point
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def crash(self, point: str) -> None:
        if point == self.point and not self.fired:
            self.fired = True
            raise Crash(point)

    def export(self, **kwargs: Any) -> Any:
        record = kwargs["on_started"]

        def started(arn: str) -> None:
            if self.point != "export started, not recorded":
                record(arn)
            self.crash("export started, recorded")
            self.crash("export started, not recorded")

        result = self.inner.export(**{**kwargs, "on_started": started})
        self.crash("after export")
        return result

    def transform(self, *args: Any, **kwargs: Any) -> Any:
        result = self.inner.transform(*args, **kwargs)
        self.crash("after transform")
        return result

    def check_import(self, **kwargs: Any) -> Any:
        result = self.inner.check_import(**kwargs)
        self.crash("after import check")
        return result

    def verify_export(self, *args: Any, **kwargs: Any) -> Any:
        result = self.inner.verify_export(*args, **kwargs)
        self.crash("after verify of the import")
        return result

    def verify_tables(self, **kwargs: Any) -> Any:
        result = self.inner.verify_tables(**kwargs)
        self.crash("after live verify")
        return result


DATA_PLANE_POINTS = (
    "export started, recorded",
    "export started, not recorded",
    "after export",
    "after transform",
    "after import check",
    "after verify of the import",
    "after live verify",
)


def crash_after_update(engine: MockEngineStack, monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """The process dies right after the update of ``stage`` finished."""
    real_up = engine.up
    fired: list[bool] = []

    def up(on_output: Any = None) -> dict[str, Any]:
        outputs = real_up(on_output)
        if engine.config["stage"] == stage and not fired:
            fired.append(True)
            raise Crash(f"after the update of stage {stage}")
        return outputs

    monkeypatch.setattr(engine, "up", up)


def crash_before_recording(engine: MockEngineStack, monkeypatch: pytest.MonkeyPatch, stage: int) -> None:
    """The process dies just before it records ``stage`` as done."""
    real_set = engine.set_config
    fired: list[bool] = []

    def set_config(values: Mapping[str, Any]) -> None:
        done = (values.get("progress") or {}).get("completedStage")
        if done == stage and not fired:
            fired.append(True)
            raise Crash(f"before recording stage {stage}")
        real_set(values)

    monkeypatch.setattr(engine, "set_config", set_config)


@pytest.mark.parametrize("point", DATA_PLANE_POINTS)
def test_a_crash_in_a_data_plane_step_resumes_on_rerun(
    point: str,
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
) -> None:
    # Given 300 legacy items, when `up --stage 4` dies at this point
    items = seed(engine, moto, ITEMS)
    dying = CrashOnce(fast_data_plane(moto), point)
    with pytest.raises(Crash):
        make_migration(dying).up(4)
    assert dying.fired

    # then the same command, run again, finishes: every item, one export, the stack at stage 4.
    _finishes(engine, moto, make_migration, items)


@pytest.mark.parametrize("stage", ["1", "2", "3", "4"])
def test_a_crash_right_after_an_update_resumes_on_rerun(
    stage: str,
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = seed(engine, moto, ITEMS)
    crash_after_update(engine, monkeypatch, stage)
    with pytest.raises(Crash):
        make_migration().up(4)
    _finishes(engine, moto, make_migration, items)


@pytest.mark.parametrize("stage", [1, 2, 4])
def test_a_crash_before_a_stage_is_recorded_resumes_on_rerun(
    stage: int,
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = seed(engine, moto, ITEMS)
    crash_before_recording(engine, monkeypatch, stage)
    with pytest.raises(Crash):
        make_migration().up(4)
    _finishes(engine, moto, make_migration, items)


def _finishes(
    engine: MockEngineStack, moto: Moto, make_migration: Callable[..., Migration], items: list[dict[str, Any]]
) -> None:
    result = make_migration().up(4)
    assert result.stage == 4 and engine.get_config()["stage"] == "4"
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert export_count(moto.dynamodb) == 1
    assert "legacy" not in {r.name for r in engine.resources()}
    assert result.report is not None and result.report["verify"]["export"]["identical"] is True
