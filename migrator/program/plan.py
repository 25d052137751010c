"""What each stage declares (the README's "Stages" and "The program"), as plain data.

No Pulumi here, so it is testable on its own. The component and the app read a :class:`StagePlan`
instead of comparing stage numbers all over.

How each table is kept, per stage (``protect`` / ``retainOnDelete`` / AWS deletion protection); the
engine refuses any update that would delete a protected resource, and a retained one stays in AWS:

=====  ============================  ==========================================
stage  legacy                        new
=====  ============================  ==========================================
0-2    protect, retain, deletion on  (2) none of the three: a copy, ``down`` 2→1 drops it
3      retain, deletion on           protect, retain, deletion on
4      gone (retained in AWS)        protect, retain, deletion on
=====  ============================  ==========================================

A table that a stage drops is unprotected by the stage before (legacy at 3, new at 2), so the drop
previews, guards and applies as one normal update; no ``pulumi state unprotect`` is ever needed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from migrator.core.config import MigrationConfig, TableSpec

# ImportTable of a large table takes hours; the provider's default create timeout would give up
# (and leave a half-imported table that the next update tries to create again).
IMPORT_CREATE_TIMEOUT = "12h"


@dataclass(frozen=True)
class StagePlan:
    """The declaration of one stage."""

    stage: int
    declare_legacy: bool  # stages 0-3; at 4 the table leaves the stack (retained in AWS)
    legacy_protected: bool  # stages 0-2; from 3 no consumer uses it, so stage 4 can drop it (retained)
    legacy_pitr: bool  # from stage 1: a point-in-time export needs PITR
    export_bucket: bool  # from stage 1
    create_export_bucket: bool  # from stage 1, unless exportBucket names an existing bucket
    declare_new: bool  # from stage 2, created by ImportTable
    new_is_live: bool  # from stage 3 (cutover): deletion protection, protect, retain
    active: str  # "legacy" or "new": the table the consumer reads and writes
    # Online mode, stages 1-3: the legacy table has a stream (declared before the export starts), and from
    # stage 2 the consumer's environment names both tables (TABLE_SCHEMAS), so that the migrator's flip of
    # TABLE_NAME alone moves it and the stage-3 update declares that same environment.
    online: bool = False

    @property
    def legacy_stream(self) -> bool:
        """True when the legacy table must have a stream: online, from the export (stage 1) on."""
        return self.online and self.stage >= 1

    @property
    def both_schemas(self) -> bool:
        """True when the consumer's environment carries both tables' schemas: online, stages 2 and 3."""
        return self.online and self.stage in (2, 3)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the plan."""
        return asdict(self)


def plan_stage(stage: int, *, export_bucket_configured: bool = False, online: bool = False) -> StagePlan:
    """The declaration of ``stage`` (0..4); ``online`` for the online mode's streams and environment."""
    if stage not in range(5):
        raise ValueError(f"stage {stage!r} is not 0..4")
    return StagePlan(
        stage=stage,
        declare_legacy=stage <= 3,
        legacy_protected=stage <= 2,
        legacy_pitr=stage >= 1,
        export_bucket=stage >= 1,
        create_export_bucket=stage >= 1 and not export_bucket_configured,
        declare_new=stage >= 2,
        new_is_live=stage >= 3,
        active="new" if stage >= 3 else "legacy",
        online=online,
    )


def plan_for(config: MigrationConfig) -> StagePlan:
    """The declaration of the stage in ``config``."""
    return plan_stage(
        config.stage, export_bucket_configured=config.export_bucket is not None, online=config.online.online
    )


def active_spec(config: MigrationConfig) -> TableSpec:
    """The spec of the table the consumer uses at the config's stage."""
    if plan_for(config).active == "new":
        assert config.new is not None  # parse_config requires newTable from stage 1
        return config.new
    return config.legacy
