"""The verification exports of ``verify: {method: export}``: recorded when they start, waited on by a rerun,
a failed one retried under a new token and folder; and the data plane takes ``compute`` from the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from migrator.core.config import parse_config
from migrator.core.data_config import Compute
from migrator.core.errors import ExportFailedError
from migrator.core.record import Record
from migrator.orchestrate import export_verify
from migrator.orchestrate.access import AwsAccess, StackConfig
from migrator.orchestrate.context import StageRun
from migrator.orchestrate.locations import client_token, export_prefix

CONFIG = {
    "stage": "2",
    "legacyTable": {"name": "Legacy", "partitionKey": {"name": "Name", "type": "S"}},
    "newTable": {"name": "New", "partitionKey": {"name": "UUID", "type": "S"}},
    "derive": {"UUID": "uuid5(Name)"},
    "importSource": {"bucket": "exports", "keyPrefix": "t/data/", "itemCount": 3},
    "verify": {"method": "export"},
}
STAGE1_EXPORT = {"arn": "arn:legacy/export/1", "bucket": "exports", "prefix": "exports/unit/Legacy/"}


@dataclass
class Exports:
    """A data plane that records each export call; ``fail`` makes the next one fail, ``crash`` dies after start."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False
    crash: bool = False
    compared: list[tuple[Any, ...]] = field(default_factory=list)

    def export(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        arn = kwargs["export_arn"] or f"arn:{kwargs['table']}/export/{len(self.calls)}"
        kwargs["on_started"](arn)
        if self.crash:
            raise KeyboardInterrupt  # the process dies while it waits
        if self.fail:
            raise ExportFailedError("export FAILED", hint="run it again")
        layout = SimpleNamespace(bucket=kwargs["bucket"], prefix=kwargs["prefix"])
        return SimpleNamespace(export_arn=arn, item_count=3, layout=layout)

    def verify_exports(self, source: Any, target: Any, *, rules: Any, key_names: Any) -> Any:
        self.compared.append((source.prefix, target.prefix, rules, key_names))
        return SimpleNamespace(identical=True)

    def locate(self, bucket: str, prefix: str) -> Any:
        return SimpleNamespace(bucket=bucket, prefix=prefix, located=True)


class Context:
    """The parts of a StepContext that the export steps use."""

    def __init__(self, data: Exports) -> None:
        self.stack = SimpleNamespace(name="unit")
        self.aws = SimpleNamespace(data_plane=lambda: data)
        self.saved: list[Record] = []

    def save(self, record: Record) -> None:
        self.saved.append(record)

    def progress(self, _line: str) -> None:
        pass


def _run(record: Record | None = None) -> StageRun:
    record = record or Record(completed_stage=1, export=STAGE1_EXPORT)
    return StageRun(move=None, config=parse_config(CONFIG), record=record, declared=2)  # type: ignore[arg-type]


def test_the_arn_is_recorded_when_the_export_starts_and_a_rerun_waits_on_it() -> None:
    # Given a run that dies while it waits on the new table's export
    data, run = Exports(crash=True), _run()
    ctx = Context(data)
    with pytest.raises(KeyboardInterrupt):
        export_verify.take_export(ctx, run, table="New", purpose="new@2")  # type: ignore[arg-type]
    # then the export's ARN was saved before the wait
    saved = ctx.saved[-1].verify_exports["new@2"]
    assert saved == {"attempt": 1, "arn": "arn:New/export/1", "bucket": "exports", "prefix": saved["prefix"]}
    # and a rerun (a new process: the saved record) waits on that ARN under the same token and folder
    data.crash = False
    again = _run(ctx.saved[-1])
    layout = export_verify.take_export(ctx, again, table="New", purpose="new@2")  # type: ignore[arg-type]
    first, second = data.calls
    assert second["export_arn"] == "arn:New/export/1"
    assert (second["client_token"], second["prefix"]) == (first["client_token"], first["prefix"])
    assert again.record.verify_exports["new@2"]["done"] is True and layout.prefix == first["prefix"]
    # and a run after that one finds the finished export without any export call
    export_verify.take_export(ctx, again, table="New", purpose="new@2")  # type: ignore[arg-type]
    assert len(data.calls) == 2


def test_a_failed_export_is_not_waited_on_again() -> None:
    data, run = Exports(fail=True), _run()
    ctx = Context(data)
    with pytest.raises(ExportFailedError):
        export_verify.take_export(ctx, run, table="New", purpose="new@2")  # type: ignore[arg-type]
    assert run.record.verify_exports["new@2"] == {"attempt": 2}
    data.fail = False
    export_verify.take_export(ctx, run, table="New", purpose="new@2")  # type: ignore[arg-type]
    first, second = data.calls
    assert second["export_arn"] is None
    assert second["client_token"] != first["client_token"] and second["prefix"] != first["prefix"]
    assert second["prefix"].endswith("attempt-2/")


def test_stage_3_exports_of_the_legacy_table_never_share_stage_1s_token_or_folder() -> None:
    # AWS returns the export a ClientToken already started (within 8 hours): stage 3 must get a new one.
    data, run = Exports(), _run()
    ctx = Context(data)
    export_verify.take_export(ctx, run, table="Legacy", purpose="legacy@3")  # type: ignore[arg-type]
    (call,) = data.calls
    assert call["client_token"] != client_token("unit", "Legacy", 1)
    assert call["prefix"] != export_prefix("unit", "Legacy", 1) and call["bucket"] == "exports"
    assert not call["prefix"].startswith(export_prefix("unit", "Legacy", 1))


def test_stage_3_exports_both_tables_again_on_every_run_of_its_check() -> None:
    # The legacy table may be written between two runs of the drift check: an old export would hide it.
    data = Exports()
    ctx = Context(data)
    run = _run(Record(completed_stage=2, export=STAGE1_EXPORT))
    export_verify.stage3_report(ctx, run)  # type: ignore[arg-type]
    export_verify.stage3_report(ctx, _run(ctx.saved[-1]))  # type: ignore[arg-type]
    legacy = [c for c in data.calls if c["table"] == "Legacy"]
    assert len(legacy) == 2 and legacy[1]["export_arn"] is None
    assert legacy[0]["client_token"] != legacy[1]["client_token"] and legacy[0]["prefix"] != legacy[1]["prefix"]
    assert [(s.startswith("verify-exports/unit/Legacy/"), rules, keys) for s, _, rules, keys in data.compared] == [
        (True, ("UUID=uuid5(Name)",), ("UUID",))
    ] * 2


def test_the_inspect_command_names_both_exports_the_key_and_the_rules() -> None:
    report = SimpleNamespace(source="s3://exports/a/", target="s3://exports/b/")
    command = export_verify.inspect_command(_run(), report)  # type: ignore[arg-type]
    assert command == (
        "migrate verify --source-export s3://exports/a/ --target-export s3://exports/b/ --key UUID "
        "--derive 'UUID=uuid5(Name)'"
    )


class ConfigOnly:
    """A StackPort that only has config."""

    name = "unit"

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get_config(self) -> dict[str, Any]:
        return dict(self.values)


@pytest.mark.parametrize(
    ("compute", "expected"),
    [(None, Compute("local", "local[*]")), ({"kind": "spark", "master": "yarn"}, Compute("spark", "yarn"))],
)
def test_the_data_plane_computes_where_the_config_says(compute: Any, expected: Compute) -> None:
    values = {**CONFIG, "endpoint": "http://127.0.0.1:9", **({"compute": compute} if compute else {})}
    access = AwsAccess(StackConfig(ConfigOnly(values)), progress=lambda _: None)  # type: ignore[arg-type]
    assert access.data_plane().compute == expected  # type: ignore[attr-defined]
