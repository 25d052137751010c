"""The public Python API in one flat namespace: ``from migrator.api import Migration, PulumiWorkspace, …``.

Every name the README's "Embedding" section uses is here. The modules behind these names may move
between releases; this module's names stay (as ``pulumi.automation`` re-exports its private modules).
The Pulumi program's building blocks are ``migrator.program``'s, which a program imports on its own.
"""

from __future__ import annotations

from migrator.core.errors import (
    AwsError,
    BadInputError,
    ConfigError,
    DataError,
    DeriveSyntaxError,
    DriftError,
    DuplicateKeysError,
    ExportFailedError,
    FreezeError,
    GuardError,
    ImportFailedError,
    MigrationError,
    NotFoundError,
    PulumiError,
    PulumiNotInstalledError,
    RecordError,
    RejectsError,
    ReplayImpossibleError,
    StackBusyError,
    StackNotFoundError,
    StageError,
    StreamGapError,
    VerificationError,
)
from migrator.core.memory_store import MemoryRecordStore
from migrator.core.ports import RecordStore, StackPort
from migrator.data.aws import AwsSettings
from migrator.data.dataplane import AwsDataPlane, DataPlane
from migrator.data.describe import read_table
from migrator.data.export.run import run_export
from migrator.data.load.import_check import check_import
from migrator.data.load.write import load_export
from migrator.data.transform.run import transform_export
from migrator.data.verify.run import verify_export, verify_tables
from migrator.engine.workspace import PulumiWorkspace, install_pulumi_cli
from migrator.orchestrate.conflict_steps import Resolution
from migrator.orchestrate.migration import Migration
from migrator.report.conflicts import ConflictsResult
from migrator.report.results import CatchUpResult, DownResult, PlanResult, Status, UnlockResult, UpResult

__all__ = [
    # the migration of one stack
    "Migration",
    "PulumiWorkspace",
    "StackPort",
    "install_pulumi_cli",
    "AwsSettings",
    "RecordStore",
    "MemoryRecordStore",
    # results
    "UpResult",
    "DownResult",
    "PlanResult",
    "Status",
    "CatchUpResult",
    "ConflictsResult",
    "Resolution",
    "UnlockResult",
    # the data plane
    "DataPlane",
    "AwsDataPlane",
    "run_export",
    "transform_export",
    "check_import",
    "load_export",
    "verify_tables",
    "verify_export",
    "read_table",
    # errors: MigrationError is the base; BadInputError and its subclasses exit 2, the others 1
    "MigrationError",
    "BadInputError",
    "ConfigError",
    "RecordError",
    "DeriveSyntaxError",
    "NotFoundError",
    "PulumiNotInstalledError",
    "StackNotFoundError",
    "StageError",
    "ReplayImpossibleError",
    "DataError",
    "ExportFailedError",
    "ImportFailedError",
    "RejectsError",
    "DuplicateKeysError",
    "VerificationError",
    "DriftError",
    "StreamGapError",
    "AwsError",
    "PulumiError",
    "StackBusyError",
    "GuardError",
    "FreezeError",
]
