"""``verify: {method: export}`` and ``compute: {kind: spark}`` through ``migrate up`` on the engine double and moto.

Stage 2 exports the new table and compares it with stage 1's export of the legacy table; offline stage 3
exports both tables and compares them. With ``compute.kind: spark`` the transform and the comparison
run on Spark (local[2], the session the Spark tier shares); the verdicts are the single-process path's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrator.core.config import parse_config
from migrator.core.errors import ConfigError
from migrator.data.dataplane import AwsDataPlane
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import LEGACY, NEW, fast_data_plane, missing_from_new, stack_records
from tests.e2e.mock_engine import MockEngineStack
from tests.e2e.slow_exports import DESCRIBE, LIST, START, SlowExports
from tests.e2e.test_crash_resume import leave_lock_of_a_killed_run

ITEMS = 150


def _exports_of(moto: Moto, table: str) -> list[dict[str, Any]]:
    arn = moto.dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    return moto.dynamodb.list_exports(TableArn=arn).get("ExportSummaries", [])


def _configured(engine: MockEngineStack, compute: dict[str, str]) -> None:
    engine.set_config({"verify": {"method": "export"}, "compute": compute})


@pytest.mark.parametrize(
    "compute",
    [
        pytest.param({"kind": "local"}, id="local"),
        pytest.param({"kind": "spark", "master": "local[2]"}, id="spark", marks=pytest.mark.spark),
    ],
)
def test_stages_1_to_3_verify_export_against_export(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    progress_lines: list[str],
    tmp_path: Any,
    request: pytest.FixtureRequest,
    compute: dict[str, str],
) -> None:
    if compute["kind"] == "spark":
        request.getfixturevalue("spark")  # the tier's session (skips without pyspark or Java 17)
    # Given 150 legacy items and a config that verifies by exports (on Spark or not)
    items = seed(engine, moto, ITEMS)
    _configured(engine, compute)
    # (the data plane with the config's compute, as AwsAccess builds it, polling every 50 ms instead of 10 s)
    chosen = parse_config(engine.get_config()).data.compute
    data = AwsDataPlane(moto.settings, progress=progress_lines.append, poll_seconds=0.05, compute=chosen)
    migration = Migration(
        engine, aws=moto.settings, progress=progress_lines.append, data=data, lock_dir=tmp_path / "locks"
    )

    # when stages 1 and 2 run: the import passes its check and the new table's export equals the legacy one's
    two = migration.up(2)
    assert two.stages_run[-2:] == (1, 2)
    record = stack_records(moto, engine).load("progress")
    # (moto has no ListImports: the import check counts the new table instead, status COUNTED)
    assert record["importCheck"]["status"] == "COUNTED" and record["importCheck"]["importedCount"] == ITEMS
    assert _verdict(record["verify"]["export"]) == (True, ITEMS, ITEMS, 0, 0, 0)
    assert "/exports/e2e/MyTable/" in record["verify"]["export"]["source"]  # stage 1's export, not the transform
    assert "/verify-exports/e2e/MyNewTable/new-stage-2/" in record["verify"]["export"]["target"]
    assert set(record["verifyExports"]) == {"new@2"} and record["verifyExports"]["new@2"]["done"] is True
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert len(_exports_of(moto, LEGACY)) == 1 and len(_exports_of(moto, NEW)) == 1

    # when offline stage 3 runs: both tables exported afresh and found identical, the cutover done
    three = migration.up(3)
    assert three.outputs["activeTableName"] == NEW
    record = stack_records(moto, engine).load("progress")
    assert _verdict(record["verify"]["live"]) == (True, ITEMS, ITEMS, 0, 0, 0)
    # (stage 3's exports are spent once compared: a later run of the check exports afresh)
    assert record["verifyExports"]["legacy@3"] == record["verifyExports"]["new@3"] == {"attempt": 2}
    assert len(_exports_of(moto, LEGACY)) == 2 and len(_exports_of(moto, NEW)) == 2
    # then the verdicts are the single-process path's, and Spark did the work when chosen
    spark_lines = [line for line in progress_lines if "on Spark" in line]
    if compute["kind"] == "spark":
        assert any(line.startswith("transform on Spark") for line in spark_lines), progress_lines
        assert sum(line.startswith("verify exports on Spark: pass 1") for line in spark_lines) == 2
    else:
        assert spark_lines == []


def _verdict(summary: dict[str, Any]) -> tuple[Any, ...]:
    fields = ("identical", "sourceCount", "targetCount", "missingCount", "extraCount", "changedCount")
    return tuple(summary[name] for name in fields)


class Died(BaseException):
    """The process dies here (a BaseException: nothing on the way may handle it as an error)."""


class DiesAfterNewExportStarts:
    """The real data plane, dying once just after the new table's verification export was started and recorded."""

    def __init__(self, inner: AwsDataPlane) -> None:
        self.inner = inner
        self.died = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def export(self, **kwargs: Any) -> Any:
        record = kwargs["on_started"]

        def started(arn: str) -> None:
            record(arn)
            if kwargs["table"] == NEW and not self.died:
                self.died = True
                raise Died(arn)

        return self.inner.export(**{**kwargs, "on_started": started})


def test_a_run_killed_during_the_new_tables_export_waits_on_it_when_run_again(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given exports that run for a while (as on AWS) and a config that verifies by exports
    exports = SlowExports(reads=2).install(monkeypatch)
    items = seed(engine, moto, 60)
    _configured(engine, {"kind": "local"})
    dying = DiesAfterNewExportStarts(fast_data_plane(moto))
    # When `up --stage 2` dies just after the new table's export started (and was recorded)
    with pytest.raises(Died) as died:
        make_migration(dying).up(2)
    arn = died.value.args[0]
    leave_lock_of_a_killed_run(engine, moto)
    # and runs again
    make_migration(dying).up(2)
    # then the rerun waited on that export by its recorded ARN (still in progress when it looked), started
    # no other export of the new table, and found the new table identical to the legacy export
    after = exports.calls[[c.arn for c in exports.calls].index(arn) + 1 :]
    assert [c.operation for c in after if c.arn != arn and c.operation == START] == []
    assert LIST not in [c.operation for c in after]
    assert (after[0].operation, after[0].status) == (DESCRIBE, "IN_PROGRESS")
    assert len(_exports_of(moto, NEW)) == 1
    record = stack_records(moto, engine).load("progress")
    assert record["completedStage"] == 2 and record["verifyExports"]["new@2"]["arn"] == arn
    assert _verdict(record["verify"]["export"]) == (True, 60, 60, 0, 0, 0)
    assert missing_from_new(moto.dynamodb, items) == ([], [])


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"verify": {"method": "sampled"}}, "table-migration:verify.method"),
        ({"compute": {"kind": "spark", "master": "cluster-1"}}, "table-migration:compute.master"),
    ],
)
def test_a_bad_verify_or_compute_value_stops_up_before_anything_changes(
    engine: MockEngineStack,
    moto: Moto,
    deployed: list[dict[str, Any]],
    make_migration: Callable[..., Migration],
    values: dict[str, Any],
    key: str,
) -> None:
    engine.set_config(values)
    updates, config = engine.updates, engine.get_config()
    with pytest.raises(ConfigError) as refused:
        make_migration().up(2)
    assert refused.value.key == key and refused.value.exit_code == 2
    assert (engine.updates, engine.get_config()) == (updates, config)
    assert _exports_of(moto, LEGACY) == []
