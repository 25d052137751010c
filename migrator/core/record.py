"""The migrator's own record of a stack (the record store's ``progress`` entry). Pure.

Why a record apart from ``table-migration:stage``: the Pulumi program declares whatever ``stage``
says, so that key must read k *before* stage k's update runs; but a stage counts as done only once
its steps after the update succeeded. ``stage`` is therefore "what the stack declares", and this
record's ``completedStage`` is "the last stage whose steps all finished". ``stage == completedStage + 1``
means stage k was applied (or was being applied) and its steps have not finished: rerunning
``migrate up --stage k`` resumes it. The record is written after every step, so a crash loses at
most the step that was running, and every step is safe to run again.

The record lives in the record store (:mod:`migrator.core.store`), shared by every machine, while
``stage`` lives in each working copy's stack file: a working copy whose ``stage`` is behind the
record is stale (an old checkout), and is refused rather than allowed to roll the stack back.
Version 0.1 kept the record in stack config under ``table-migration:progress`` (``RECORD_KEY``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .config import key
from .errors import ConfigError, StageError

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
    # migrator.core.cutover), and what the replay and the freeze did (catchUp, freeze, carriedBack…).
    stream: Mapping[str, Any] | None = None
    cutover: Mapping[str, Any] | None = None
    online: Mapping[str, Any] = field(default_factory=dict)

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
            "export": _plain(self.export),
            "transform": _plain(self.transform),
            "importCheck": _plain(self.import_check),
            "verify": {kind: dict(summary) for kind, summary in self.verify.items()},
            "driftAccepted": _plain(self.drift_accepted),
            "servedTraffic": self.served_traffic,
            "stageTimes": dict(self.stage_times),
            "report": _plain(self.report),
            "downPending": self.down_pending,
            "importSource": _plain(self.import_source),
            "stream": _plain(self.stream),
            "cutover": _plain(self.cutover),
            "online": dict(self.online),
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
        try:
            completed = int(obj.get("completedStage", declared_stage - 1))
            attempt = int(obj.get("exportAttempt") or 1)
        except (TypeError, ValueError):
            raise _broken("completedStage/exportAttempt are not numbers") from None
        record = cls(
            completed_stage=completed,
            export_arn=obj.get("exportArn") or None,
            export_attempt=attempt,
            export=obj.get("export") or None,
            transform=obj.get("transform") or None,
            import_check=obj.get("importCheck") or None,
            verify=dict(obj.get("verify") or {}),
            drift_accepted=obj.get("driftAccepted") or None,
            served_traffic=bool(obj.get("servedTraffic", False)),
            stage_times=dict(obj.get("stageTimes") or {}),
            report=obj.get("report") or None,
            down_pending=_int_or_none(obj.get("downPending")),
            import_source=obj.get("importSource") or None,
            stream=obj.get("stream") or None,
            cutover=obj.get("cutover") or None,
            online=dict(obj.get("online") or {}),
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
                f"If going back was meant, run `migrate down --stage {declared_stage}`.",
            )
        raise StageError(
            f"Stack config says stage {declared_stage}, but the migrator's record says stage {done} is done.",
            hint=f"Set it back with `pulumi config set {key('stage')} {max(done, 0)}` and use `migrate up`/`down` "
            "to move between stages.",
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        raise _broken("downPending is not a number") from None


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def _object(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _broken("is not JSON") from None
    if not isinstance(raw, Mapping):
        raise _broken("is not an object")
    return raw


def _broken(problem: str) -> ConfigError:
    return ConfigError(
        "the migration record (progress)",
        f"{problem}; the migrator writes it, it is not edited by hand.",
        hint="Restore it from the record table's point-in-time backups, or delete the entry to make the migrator "
        "rerun the declared stage's steps.",
    )
