"""Stage 1 online and the legacy table's stream: declared when there is none, kept exactly when there is one,
refused (before the update, with the reason) when it would change or cannot serve the derive rules."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.core.errors import EXIT_BAD_INPUT, ConfigError, ReplayImpossibleError, StreamGapError
from migrator.core.memory_store import MemoryRecordStore
from migrator.core.record import Record
from migrator.orchestrate.access import AwsAccess, Clock, StackConfig
from migrator.orchestrate.context import StageRun, StepContext
from migrator.orchestrate.migration import Migration
from migrator.orchestrate.records import RecordRepository
from migrator.orchestrate.stream_steps import StreamSteps
from tests.conftest import Moto
from tests.e2e.conftest import LEGACY, fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import online_engine


def _migration(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")


def _stream(moto: Moto) -> tuple[str | None, str | None]:
    table = moto.dynamodb.describe_table(TableName=LEGACY)["Table"]
    return (table.get("StreamSpecification") or {}).get("StreamViewType"), table.get("LatestStreamArn")


def test_a_stream_the_table_already_has_is_kept_exactly(moto: Moto, tmp_path: Any) -> None:
    # Given a legacy table with a NEW_IMAGE stream, recorded in config (the derive rules key on Name alone)
    engine = online_engine(moto)
    engine.set_config({"legacyTable": {**engine.get_config()["legacyTable"], "stream": "NEW_IMAGE"}})
    engine.up()
    seed_legacy(moto.dynamodb, 20)
    before = _stream(moto)
    assert before[0] == "NEW_IMAGE"
    # when stage 1 runs, then the same stream (same ARN) serves the migration and is recorded with the export
    _migration(engine, moto, tmp_path).up(1)
    assert _stream(moto) == before
    assert stack_records(moto, engine).load("progress")["export"]["stream"] == {
        "arn": before[1],
        "viewType": "NEW_IMAGE",
    }


def test_an_unrecorded_stream_is_refused_before_the_update(moto: Moto, tmp_path: Any) -> None:
    # Given a legacy table that got a KEYS_ONLY stream outside the stack (config does not say so)
    engine = online_engine(moto)
    _migration(engine, moto, tmp_path).up(0)
    moto.dynamodb.update_table(
        TableName=LEGACY, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    before, updates = _stream(moto), engine.updates
    # when stage 1 runs, then it is refused (exit 2) naming the fix, and nothing changed: no update, same stream
    with pytest.raises(ConfigError) as refused:
        _migration(engine, moto, tmp_path).up(1)
    assert refused.value.exit_code == EXIT_BAD_INPUT
    assert "already has a KEYS_ONLY stream" in str(refused.value) and "stream: KEYS_ONLY" in str(refused.value)
    assert _stream(moto) == before and engine.updates == updates and engine.get_config()["stage"] == "0"


def test_a_stack_with_no_writer_to_freeze_is_refused_before_stage_1_changes_anything(
    moto: Moto, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given stage 0 applied, no `writers` in config and no consumerFunctionName output to default to
    engine = online_engine(moto)
    _migration(engine, moto, tmp_path).up(0)
    outputs = engine.outputs
    monkeypatch.setattr(engine, "outputs", lambda: {k: v for k, v in outputs().items() if k != "consumerFunctionName"})
    updates = engine.updates
    # when stage 1 runs, then it is refused (exit 2) naming the key, with no update and no stream made
    with pytest.raises(ConfigError) as refused:
        _migration(engine, moto, tmp_path).up(1)
    assert refused.value.exit_code == EXIT_BAD_INPUT and "table-migration:writers" in str(refused.value)
    assert engine.updates == updates and engine.get_config()["stage"] == "0"
    assert _stream(moto) == (None, None)


def test_a_stream_that_cannot_serve_the_derive_rules_is_refused_with_the_reason(moto: Moto, tmp_path: Any) -> None:
    # Given a recorded KEYS_ONLY stream, and a new key derived from a non-key attribute
    engine = online_engine(moto, derive={"UUID": "uuid5(Email)"})
    engine.set_config({"legacyTable": {**engine.get_config()["legacyTable"], "stream": "KEYS_ONLY"}})
    _migration(engine, moto, tmp_path).up(0)
    updates = engine.updates
    # when stage 1 runs, then it is refused: a delete record would not tell which new item to delete
    with pytest.raises(ReplayImpossibleError) as refused:
        _migration(engine, moto, tmp_path).up(1)
    assert refused.value.exit_code == EXIT_BAD_INPUT
    assert "KEYS_ONLY" in str(refused.value) and "online: false" in str(refused.value)
    assert engine.updates == updates


def test_an_export_older_than_the_stream_is_refused_and_forgotten(moto: Moto) -> None:
    # Given a recorded export taken before the stream was requested (writes in between are in neither)
    saved: list[Record] = []
    steps = StreamSteps(_context(moto, saved))
    record = Record(
        completed_stage=0,
        stream={"arn": "arn:stream", "viewType": "NEW_AND_OLD_IMAGES", "created": 2_000_000_000.0},
        export={"arn": "arn:export/1", "time": "2030-01-01T00:00:00+00:00"},
        export_arn="arn:export/1",
    )
    run = StageRun(move=None, config=_config(), record=record, declared=1)  # type: ignore[arg-type]
    # when the stream is checked against it
    with pytest.raises(StreamGapError) as refused:
        steps.record_stream(run)
    # then the export is forgotten (the rerun takes a new one, in a folder of its own) and the user told so
    assert "Rerun `migrate up --stage 1`" in str(refused.value)
    assert saved[-1].export is None and saved[-1].export_arn is None and saved[-1].export_attempt == 2


class _SavedRecords(RecordRepository):
    """A record repository that keeps every saved record in a list."""

    def __init__(self, config: StackConfig, aws: AwsAccess, saved: list[Record]) -> None:
        super().__init__(config, aws, project="test", progress=print, store=MemoryRecordStore())
        self.saved = saved

    def save(self, record: Record) -> None:
        self.saved.append(record)


def _context(moto: Moto, saved: list[Record]) -> StepContext:
    config = StackConfig(None)  # type: ignore[arg-type]
    aws = AwsAccess(config, settings=moto.settings, progress=print)
    return StepContext(None, config, _SavedRecords(config, aws, saved), aws, print, Clock())  # type: ignore[arg-type]


def _config() -> Any:
    from migrator.core.config import parse_config
    from tests.e2e.conftest import example_config

    return parse_config({**example_config("http://127.0.0.1:1"), "stage": "1", "online": True})
