"""The migrator's own record of a stack (the record store's ``progress`` entry). Pure.

Why a record apart from ``table-migration:stage``: the Pulumi program declares whatever ``stage``
says, so that key must read k *before* stage k's update runs; but a stage counts as done only once
its steps after the update succeeded. ``stage`` is therefore "what the stack declares", and this
record's ``completedStage`` is "the last stage whose steps all finished". ``stage == completedStage + 1``
means stage k was applied (or was being applied) and its steps have not finished: rerunning
``migrate up --stage k`` resumes it. The record is written after every step, so a crash loses at
most the step that was running, and every step is safe to run again.

The record lives in the record store (:mod:`migrator.core.ports`), shared by every machine, while
``stage`` lives in each working copy's stack file: a working copy whose ``stage`` is behind the
record is stale (an old checkout), and is refused rather than allowed to roll the stack back.
Version 0.1 kept the record in stack config under ``table-migration:progress`` (``RECORD_KEY``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from migrator.core.config import key
from migrator.core.errors import RecordError, StageError
from migrator.core.jsonable import plain

RECORD_KEY = "progress"


@dataclass(frozen=True)
class Record:
    """What the migrator did so far on one stack."""

    completed_stage: int = -1
    export_arn: str | None = None
    export_attempt: int = 1
    export: Mapping[str, Any] | None = None
    transform: Mapping[str, Any] | None = None
    import_check: Mapping[str, Any] | None = None
    verify: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # "export" / "live" → counts
    drift_accepted: Mapping[str, Any] | None = None
    served_traffic: bool = False
    stage_times: Mapping[str, str] = field(default_factory=dict)
    report: Mapping[str, Any] | None = None
    down_pending: int | None = None  # a `down` to this stage set it, and its update has not finished
    # importSource as the migrator wrote it at stage 1: the record keeps it, since a working copy that is
    # thrown away (a Deployment's) takes its stack config with it; it is set again before each update.
    import_source: Mapping[str, Any] | None = None
    # Online mode: the legacy table's stream as stage 1 found it (arn, viewType, created), the freeze or flip
    # in progress (recorded before the writers are frozen, so a rerun can restore them; see
    # migrator.core.cutover_state), and what the replay and the freeze did (catchUp, freeze, carriedBack…).
    stream: Mapping[str, Any] | None = None
    cutover: Mapping[str, Any] | None = None
    online: Mapping[str, Any] = field(default_factory=dict)
    # verify.method export: the exports taken to verify, by purpose ("new@2": the new table at stage 2…),
    # each {arn, attempt, bucket, prefix}; the arn is recorded as soon as the export starts, so a rerun
    # waits on it instead of starting another.
    verify_exports: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Record:
        """A copy with ``changes`` (dataclasses.replace)."""
        return replace(self, **changes)

    def completed(self, stage: int, at: str) -> Record:
        """This record with ``stage`` done at ``at``."""
        return replace(self, completed_stage=stage, stage_times={**self.stage_times, str(stage): at}, down_pending=None)

    def to_config(self) -> dict[str, Any]:
        """The JSON object of the record store's ``progress`` entry."""
        return {
            "completedStage": self.completed_stage,
            "exportArn": self.export_arn,
            "exportAttempt": self.export_attempt,
            "export": plain(self.export),
            "transform": plain(self.transform),
            "importCheck": plain(self.import_check),
            "verify": {kind: dict(summary) for kind, summary in self.verify.items()},
            "driftAccepted": plain(self.drift_accepted),
            "servedTraffic": self.served_traffic,
            "stageTimes": dict(self.stage_times),
            "report": plain(self.report),
            "downPending": self.down_pending,
            "importSource": plain(self.import_source),
            "stream": plain(self.stream),
            "cutover": plain(self.cutover),
            "online": dict(self.online),
            "verifyExports": {name: dict(v) for name, v in self.verify_exports.items()},
        }

    @classmethod
    def from_config(cls, raw: Any, *, declared_stage: int, check: bool = True) -> Record:
        """Read the record; without one, the declared stage's own steps count as not finished.

        ``check=False`` skips :meth:`check_against` (``down`` reads a stale working copy to go back from it).

        A stack whose stage was set by hand (or by an older run without a record) thus resumes
        with the steps of its declared stage, all of which are safe to run again.
        """
        if raw is None or raw == "":
            return cls(completed_stage=declared_stage - 1)
        obj = _object(raw)
        record = cls(
            completed_stage=_whole(obj, "completedStage", declared_stage - 1),
            export_arn=_text(obj, "exportArn"),
            export_attempt=_whole(obj, "exportAttempt", None) or 1,
            export=_mapping(obj, "export"),
            transform=_mapping(obj, "transform"),
            import_check=_mapping(obj, "importCheck"),
            verify=_mapping(obj, "verify") or {},
            drift_accepted=_mapping(obj, "driftAccepted"),
            served_traffic=_flag(obj, "servedTraffic"),
            stage_times=_mapping(obj, "stageTimes") or {},
            report=_mapping(obj, "report"),
            down_pending=_whole(obj, "downPending", None),
            import_source=_mapping(obj, "importSource"),
            stream=_mapping(obj, "stream"),
            cutover=_mapping(obj, "cutover"),
            online=_mapping(obj, "online") or {},
            verify_exports=_mapping(obj, "verifyExports") or {},
        )
        if check:
            record.check_against(declared_stage)
        return record

    def check_against(self, declared_stage: int) -> None:
        """Refuse a record that cannot go with the declared stage.

        Behind the record: this working copy's stack file is older than the migration (an old checkout,
        a Deployment of an old commit); a plain ``pulumi up`` with it would roll the stack back. Ahead of
        it by more than one stage: someone edited ``stage`` by hand.
        """
        if self.completed_stage in (declared_stage, declared_stage - 1):
            return
        done = self.completed_stage
        if done > declared_stage:
            raise StageError(
                f"The stack file declares stage {declared_stage}, but the migration record says stage {done} is "
                "done: this working copy's Pulumi.<stack>.yaml is older than the migration, and an update with it "
                "would roll the stack back.",
                hint=f"Use the current stack file (stage {done}; or `pulumi config set {key('stage')} {done}`). "
                + self._going_back(declared_stage),
            )
        raise StageError(
            f"Stack config says stage {declared_stage}, but the migrator's record says stage {done} is done.",
            hint=f"Set it back with `pulumi config set {key('stage')} {max(done, 0)}` and use `migrate up`/`down` "
            "to move between stages.",
        )

    def _going_back(self, stage: int) -> str:
        """What a stale working copy is told about going back to its ``stage``: the ``down`` that does it
        (it runs from a stale copy), or why there is none (the same reasons ``down`` would give)."""
        done = self.completed_stage
        if stage == 2 and done == 3 or stage == 1 and done == 2 and not self.served_traffic:
            return f"If going back was meant, run `migrate down --stage {stage}` (it works from this stack file)."
        if stage >= 1 and done <= 3:
            return (
                f"Going back to stage {stage} drops the new table, which has served traffic: only `migrate down "
                f"--stage {stage} --lose-new-table-writes` does it, losing every write only that table holds."
            )
        return f"Going back to stage {stage} is not possible from stage {done}."


def _whole(obj: Mapping[str, Any], name: str, default: int | None) -> int | None:
    """``obj[name]`` as an int (a JSON number or its text), ``default`` when absent or null; else a broken record."""
    value = obj.get(name)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise _broken(f"{name} is not a whole number ({value!r})")


def _mapping(obj: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """``obj[name]`` as a dict, None when absent, null or empty; anything but an object is a broken record."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _broken(f"{name} is not an object ({type(value).__name__})")
    return dict(value) or None


def _flag(obj: Mapping[str, Any], name: str) -> bool:
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _broken(f"{name} is not true or false ({value!r})")
    return value


def _text(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _broken(f"{name} is not a string ({value!r})")
    return value


def _object(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _broken("is not JSON") from None
    if not isinstance(raw, Mapping):
        raise _broken("is not an object")
    return raw


def _broken(problem: str) -> RecordError:
    return RecordError(
        f"The migration record (progress): {problem}; the migrator writes it, it is not edited by hand.",
        hint="Restore it from the record table's point-in-time backups, or delete the entry to make the migrator "
        "rerun the declared stage's steps.",
    )
