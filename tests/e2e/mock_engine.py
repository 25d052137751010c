"""An engine double for the end-to-end tests: the real Pulumi program under mocks, applied to moto with boto3.

``MockEngineStack`` implements :class:`migrator.engine.workspace.StackPort` the way the Pulumi engine would
for this project's resources. Each ``preview()``/``up()`` runs the real program under Pulumi's mocks
with the stack's config, diffs what it declares against the double's state (the previous
declaration plus physical ids) and, on ``up()``, applies the difference to a moto server:

- DynamoDB tables: ``create_table``, or ``import_table`` when ``importTable`` is declared (waited on
  until it finishes, like the provider does); point-in-time recovery, TTL and deletion protection.
- S3 buckets: created and (when ``forceDestroy``) emptied and deleted. Public access block,
  encryption, ownership and policy resources are kept in state only.
- Streams: ``streamEnabled``/``streamViewType`` on create (after the import, as the provider enables a
  stream on an imported table with UpdateTable) and on update. A new view type on an enabled stream
  disables it and enables another (a new ARN, the old records gone), as the provider's
  ``cycleStreamEnabled`` does, since AWS refuses to change an enabled stream's view type.
- IAM roles and Lambda functions: the role is created (Lambda needs it), the function with an archive of
  the files its ``AssetArchive`` names, its handler, runtime, timeout and environment; an update applies
  the environment and timeout (UpdateFunctionConfiguration). Reserved concurrency is not declared, so an
  update leaves it as it is. (moto runs no function: the simulated consumer stands in for invocations.)
- Everything else (role policies, log groups, providers, components): state only.

Deleting follows the engine: a protected resource fails the preview and the update alike (a delete
when the state has ``protect``, a replace when state and declaration both have it); ``retainOnDelete``
drops it from state and leaves it in AWS; otherwise the table is deleted (which AWS refuses under
deletion protection). There is no ``state unprotect``: the program declares ``protect`` per stage.
A change to a table's create-only inputs (name, key schema, ``importTable``) not covered
by ``ignoreChanges`` is a replace. The program runs from the stack's ``work_dir`` (its
``__main__.py``, that folder first on ``sys.path``), and every ``FileAsset``/``FileArchive``/
``AssetArchive`` file it registers must exist, as the engine hashes them at registration.
A create is journaled as a pending operation before the provider is called and cleared when it
returns; a process killed meanwhile leaves it in the state, where later updates carry it on (calling
Create again); a state edit (``stack export``/``stack import``) drops it, and whatever it made is then
adopted only by declaring it for ``import``. A refresh does not adopt it on the real engine (it
retypes the operation as ``importing``, which the snapshot does not keep), so the double has no refresh.
An update killed outright leaves its lock in the backend, naming its process: every later ``up`` and
state edit (``stack import``) is refused (a preview and an export are not) until ``cancel_update``
(``pulumi cancel``) ends it; an update that fails releases its lock. The next update carries a pending
create on, once, calls Create again, and fails on the table AWS already has. ImportTable into
a table that exists fails with ResourceInUseException, as on AWS. Working copies (this class: their
own stack config) share the state through an :class:`EngineBackend`.

URNs are the engine's (the parent's whole qualified type in front). Aliases follow the engine's rules
(:mod:`tests.e2e.engine_aliases`): a resource whose URN is not in the state takes over the old entry one
of its aliases names, so a renamed resource is neither created nor deleted. ``import`` (the
``import_`` resource option, on a table) follows the import step (``pkg/resource/deploy/step.go``,
``step_generator.go``, Pulumi 3.174 and later): a resource is imported when the state does not hold it
with that id; the provider reads the live table (a table that does not exist fails the preview and the
update: ``resource '<id>' does not exist``); the declaration is then diffed against what was read, and a
difference becomes an ``update`` after the ``import`` in the same deployment, or, for a create-only input,
a replacement the engine refuses in the update ("previously-imported resources that still specify an ID
may not be replaced"), once the import step has put the table in the state as read. ``strict_import=True``
models the engines before 3.174: any difference fails the import in the update ("inputs to import do
not match the existing resource"), the preview only warns.
Afterwards the state holds the table with its import id. An update is held to the plan of the
preview just before it, as :class:`~migrator.engine.workspace.PulumiWorkspace` runs the engine
(:mod:`tests.e2e.engine_plans`): a step the preview did not show, or different inputs, fail the update.
Tables are created with their whole spec
(:mod:`tests.e2e.engine_tables`): indexes with their projection, billing, stream, encryption, class, tags.
The program gets back the ids of the resources the state holds (by URN or through an alias), as the engine
gives a program its existing resources' outputs: a renamed bucket keeps its name, and so do its children's
``bucket`` inputs.
It proves the program and the orchestrator agree on config keys,
prefixes and names; it does not replace the real-engine test.
"""

from __future__ import annotations

import asyncio
import copy
import getpass
import inspect
import io
import json
import os
import socket
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrator.core.errors import MigrationError, PulumiError, StackBusyError
from migrator.core.guard import PlannedChange, Preview
from migrator.core.ports import PendingCreate, StateResource
from migrator.data.aws import AwsSettings, aws_errors
from migrator.engine.backend_lock import engine_locks
from migrator.engine.state import pending_creates as workspace_pending_creates
from tests.e2e.engine_aliases import generate_aliases, resolve_aliases
from tests.e2e.engine_plans import ResourcePlan, check_all_seen, check_step, make_plan, plans_enabled
from tests.e2e.engine_tables import (
    TABLE_CREATE_ONLY,
    applied_at_creation,
    create_params,
    import_params,
    read_table,
    table_diff,
)
from tests.stack.harness import ProgramMocks

TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
FUNCTION = "aws:lambda/function:Function"
# Inputs the provider marks ForceNew: changing one replaces the resource.
CREATE_ONLY = {TABLE: TABLE_CREATE_ONLY, BUCKET: ("bucket",), FUNCTION: ("name",)}
NAME_INPUT = {TABLE: "name", BUCKET: "bucket", ROLE: "name", FUNCTION: "name"}


@dataclass(frozen=True)
class Declared:
    """One resource as the program declares it (what the engine would receive in RegisterResource)."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    mock_id: str | None = None  # the id the mocks gave it (their auto-name when the program gives none)
    assets: tuple[tuple[str, str, str], ...] = ()  # (property, "asset" | "archive", file path) of its assets
    parent: str = ""  # the parent's URN (the root stack's for a top-level resource)
    aliases: tuple[dict[str, Any], ...] = ()  # alias URNs or specs, as RegisterResource sends them
    import_id: str = ""  # the ``import_`` resource option: the id of an existing resource to take over


@dataclass(frozen=True)
class Declaration:
    """What one run of the program declares: resources in registration order, and the stack outputs."""

    resources: tuple[Declared, ...]
    outputs: dict[str, Any]


# Runs the program for a config (short keys plus ``aws:region``), a stack name and the project's folder.
Program = Callable[..., Declaration]
REPOSITORY = Path(__file__).resolve().parents[2]  # this repository: a Pulumi project itself
# Pulumi's runtime state is global: one program run at a time in this process.
_PROGRAM_LOCK = threading.Lock()


def program_under_mocks(
    config: Mapping[str, Any],
    stack: str,
    work_dir: Path | None = None,
    ids: Mapping[str, str | None] | None = None,
) -> Declaration:
    """Run the project's program under Pulumi's mocks with ``config``; what it declares.

    With ``work_dir`` the program is that folder's ``__main__.py``, run from there as the engine runs it
    (so a copy of the project runs its own files); without it, this repository's ``stacks.app.main``.
    ``ids`` (state URN → physical id): the resources the state holds, whose ids the program gets back.
    """
    from tests.stack.harness import asset_paths, project_program, run_program

    with _PROGRAM_LOCK:
        try:
            asyncio.get_event_loop()
        except RuntimeError:  # a migration running in another thread: Pulumi's runtime needs a loop there
            asyncio.set_event_loop(asyncio.new_event_loop())
        program = project_program(work_dir) if work_dir is not None else None
        region = str(config.get("aws:region", "us-east-1"))
        mocks = StateMocks(stack=stack, region=region, ids=ids or {})
        recorded = run_program(config, stack=stack, program=program, mocks=mocks)
    resources = tuple(
        Declared(
            r.urn,
            r.type,
            r.name,
            _plain(r.inputs),
            r.protect,
            r.retain_on_delete,
            r.ignore_changes,
            r.id,
            tuple((prop, kind, path) for prop, value in r.inputs.items() for kind, path in asset_paths(value)),
            r.parent,
            r.aliases,
            r.import_id,
        )
        for r in recorded.resources
    )
    return Declaration(resources, _plain(recorded.outputs))


class StateMocks(ProgramMocks):
    """Mocks that answer a resource the state already holds (by URN, or through an alias) with its id,
    as the engine gives a program the outputs of its existing resources: a renamed bucket keeps its name,
    and its children's ``bucket`` input with it."""

    def __init__(self, *, stack: str, region: str, ids: Mapping[str, str | None]) -> None:
        super().__init__(stack=stack, region=region)
        self._ids = ids
        self._matched: dict[str, str] = {}  # new URN → the old state URN it takes over
        self._lock = threading.Lock()  # registrations run on the SDK's executor threads

    def prior(self, urn: str, request: Any) -> None:
        from tests.stack.harness import alias_specs

        registered = _Registration(urn, request.type, request.name, request.parent, alias_specs(request))
        with self._lock:
            old = urn if urn in self._ids else None
            if old is None:
                old = next((a for a in generate_aliases(registered, self._matched) if a in self._ids), None)
                if old is not None:
                    self._matched[urn] = old
            physical = self._ids.get(old) if old is not None else None
            if physical:
                self.known[(request.type, request.name)] = physical


@dataclass(frozen=True)
class _Registration:
    urn: str
    type: str
    name: str
    parent: str
    aliases: tuple[dict[str, Any], ...]


def _plain(value: Any) -> Any:
    """Inputs as comparable plain data: assets and archives by their path or contents."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    for attr in ("path", "text", "uri", "assets"):
        if getattr(value, attr, None) is not None:
            return {type(value).__name__: _plain(getattr(value, attr))}
    return repr(value)


@dataclass(frozen=True)
class Held:
    """One resource in the double's state: the last applied declaration and its physical id."""

    declared: Declared
    physical_id: str | None
    import_id: str = ""  # set when the resource came into the state by an import

    def to_state_resource(self) -> StateResource:
        d = self.declared
        return StateResource(d.urn, d.type, d.name, d.protect, d.retain_on_delete, self.physical_id)


@dataclass(frozen=True)
class Step:
    """One planned step: ``op`` is create, import, update, replace, delete or same; ``replace_keys`` why a replace.

    ``diffs``: the inputs an update or replace changes; ``import_diffs``: how an import's declaration differs
    from the resource read (only under ``strict_import``, where that fails the import).
    """

    op: str
    old: Held | None
    new: Declared | None
    replace_keys: tuple[str, ...] = ()
    diffs: tuple[str, ...] = ()
    import_diffs: tuple[str, ...] = ()

    @property
    def urn(self) -> str:
        return self.new.urn if self.new is not None else self.old.declared.urn  # type: ignore[union-attr]

    @property
    def goal(self) -> tuple[Mapping[str, Any], bool] | None:
        """What an update plan holds the step to: the declared inputs and ``protect`` (None for a delete)."""
        return None if self.new is None else (self.new.inputs, self.new.protect)

    def to_planned_change(self) -> PlannedChange:
        target = self.new if self.new is not None else self.old.declared  # type: ignore[union-attr]
        retain = self.old.declared.retain_on_delete if self.old is not None else target.retain_on_delete
        physical = self.old.physical_id if self.old is not None else None
        if self.op == "import":
            physical = target.import_id
        return PlannedChange(
            target.urn, target.type, target.name, self.op, retain, physical, self.replace_keys, self.diffs
        )


# Reads a resource to import: its inputs as the provider reads them (raises when it does not exist).
Reader = Callable[[Declared], Mapping[str, Any]]


def plan_steps(
    state: Mapping[str, Held],
    declared: Iterable[Declared],
    *,
    read: Reader | None = None,
    stack: str = "stack",
    strict_import: bool = False,
) -> list[Step]:
    """Diff the state against a declaration the way the engine does (pure, but for ``read`` of an import)."""
    declared = list(declared)
    matched = resolve_aliases(state.keys(), declared, stack=stack)
    steps: list[Step] = []
    seen: set[str] = set()
    for new in declared:
        old_urn = matched.get(new.urn, new.urn)
        seen.add(old_urn)
        old = state.get(old_urn)
        if _is_import(new, old):
            assert read is not None, "a declaration that imports needs a reader"
            steps.extend(_import_steps(new, read(new), strict=strict_import))
            continue
        if old is None:
            steps.append(Step("create", None, new))
            continue
        changed = _changed_inputs(old.declared.inputs, new.inputs, new.ignore_changes)
        if forced := sorted(changed & set(CREATE_ONLY.get(new.type, ()))):
            steps.append(Step("replace", old, new, tuple(forced), tuple(sorted(changed))))
        elif changed:
            steps.append(Step("update", old, new, diffs=tuple(sorted(changed))))
        else:
            steps.append(Step("same", old, new))
    # The engine deletes in reverse order of creation, after every create and update.
    steps.extend(Step("delete", old, None) for urn, old in reversed(list(state.items())) if urn not in seen)
    return steps


def _is_import(new: Declared, old: Held | None) -> bool:
    """The engine imports when the goal has an id and the state does not hold the resource with that id."""
    if not new.import_id:
        return False
    return old is None or (old.import_id or old.physical_id) != new.import_id


def _import_steps(new: Declared, read: Mapping[str, Any], *, strict: bool) -> list[Step]:
    """An import, then the update or replacement the declaration's difference from the resource read needs."""
    assert new.type == TABLE, "the engine double imports tables only"
    changed = table_diff(new.inputs, read, new.ignore_changes)
    if strict:
        return [Step("import", None, new, import_diffs=changed)]
    steps = [Step("import", None, new)]
    imported = Held(replace(new, inputs=dict(read)), new.import_id, new.import_id)
    if forced := tuple(k for k in changed if k in CREATE_ONLY[TABLE]):
        steps.append(Step("replace", imported, new, forced, changed))
    elif changed:
        steps.append(Step("update", imported, new, diffs=changed))
    return steps


def _changed_inputs(old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str]) -> set[str]:
    ignored = {path.split(".")[0].split("[")[0] for path in ignore}
    return {k for k in set(old) | set(new) if k not in ignored and old.get(k) != new.get(k)}


def _config_value(value: Any) -> Any:
    """Config as the Automation API gives it back: objects decoded from JSON, scalars as text."""
    if isinstance(value, Mapping | list):
        return json.loads(json.dumps(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


# --- the backend: state shared by every working copy of a stack -------------------------------------


@dataclass(frozen=True)
class PendingOp:
    """An operation the engine records before calling the provider and clears when the call returns."""

    type: str  # "creating" (the only kind the double records)
    declared: Declared

    def to_export(self) -> dict[str, Any]:
        """As ``pulumi stack export`` shows it under ``deployment.pending_operations``."""
        d = self.declared
        return {"resource": {"urn": d.urn, "type": d.type, "custom": True, "inputs": dict(d.inputs)}, "type": self.type}


@dataclass
class StackState:
    """What a Pulumi backend keeps for one stack: resources, pending operations, outputs, the update lock."""

    resources: dict[str, Held] = field(default_factory=dict)
    pending: list[PendingOp] = field(default_factory=list)  # operations an interrupted update left pending
    outputs: dict[str, Any] = field(default_factory=dict)
    busy: threading.Lock = field(default_factory=threading.Lock, repr=False)
    left_lock: str | None = None  # the lock file's "created by …" line a killed update left behind


@dataclass
class EngineBackend:
    """A Pulumi backend for the double: each stack's state, shared by every working copy that opens it.

    A working copy (a :class:`MockEngineStack`) has its own stack config, as a checkout has its own
    ``Pulumi.<stack>.yaml``; the state, and the engine's lock on it, live here, as in the backend.
    """

    stacks: dict[str, StackState] = field(default_factory=dict)

    def stack(self, name: str) -> StackState:
        """The state of stack ``name`` (created empty on first use)."""
        return self.stacks.setdefault(name, StackState())


@dataclass
class MockEngineStack:
    """A :class:`~migrator.engine.workspace.StackPort` backed by the program under mocks and a moto server."""

    name: str
    config: dict[str, Any]
    program: Program
    project: str = "table-migration"
    settings: AwsSettings | None = None  # default: aws:region and the config's endpoint
    poll_seconds: float = 0.05
    state: dict[str, Held] = field(default_factory=dict)
    last_outputs: dict[str, Any] = field(default_factory=dict)
    updates: int = 0  # how many ``up()`` calls finished
    work_dir: Path | None = REPOSITORY  # the project folder the program runs from (None: stacks.app.main)
    backend: EngineBackend = field(default_factory=EngineBackend)  # pass one to share state between working copies
    # Called with each step ``up()`` has just applied. A test raises there to kill the update half way:
    # the steps applied so far stay in the state (and in AWS), as in an interrupted engine's checkpoint.
    after_step: Callable[[Step], None] | None = None
    strict_import: bool = False  # the import rules of engines before Pulumi 3.174 (see the module docstring)
    _plan: dict[str, ResourcePlan] | None = field(default=None, repr=False)  # the last preview's update plan
    _busy: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients: dict[tuple[AwsSettings, str], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.config = {k: _config_value(v) for k, v in self.config.items()}
        # The state, the outputs and the engine's lock are the backend's, whichever working copy updates.
        shared = self.backend.stack(self.name)
        shared.resources.update(self.state)
        self.state, self.last_outputs, self._busy = shared.resources, shared.outputs, shared.busy

    # --- config -----------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The stack config, short keys plus ``aws:region`` (a copy)."""
        return copy.deepcopy(self.config)

    def set_config(self, values: Mapping[str, Any]) -> None:
        """Set config values (short keys); drops the update plan, as a plan holds the config it was made with."""
        self._plan = None
        self.config.update({k: _config_value(v) for k, v in values.items()})

    def remove_config(self, keys: Iterable[str]) -> None:
        """Remove config keys; absent keys are fine."""
        self._plan = None
        for k in keys:
            self.config.pop(k, None)

    # --- engine -----------------------------------------------------------------------------

    def preview(self, config: Mapping[str, Any] | None = None) -> Preview:
        """What an update would do now; fails like the engine when a protected resource would go.

        ``config`` overrides values for this preview only (``--config-file`` with a copy of the stack file).
        """
        self._plan = None
        declaration = self._declare(config)
        steps = self._steps(declaration)
        self._refuse_protected(steps, action="preview")
        if config is None and plans_enabled():
            self._plan = make_plan(steps)
        counts: dict[str, int] = {}
        for step in steps:
            counts[step.op] = counts.get(step.op, 0) + 1
        changes = tuple(s.to_planned_change() for s in steps if s.op != "same")
        return Preview(changes, counts, resources=tuple(d.urn for d in declaration.resources))

    def up(self, on_output: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Apply the program's declaration to moto; return the outputs. One update at a time, like the engine."""
        shared = self.backend.stack(self.name)
        self._refuse_locked()
        if not self._busy.acquire(blocking=False):
            raise StackBusyError(
                f"Stack {self.name} is locked by another update.", hint="Wait for it to finish, then rerun."
            )
        plan, self._plan = self._plan, None
        try:
            declaration = self._declare()
            steps = self._steps(declaration)
            self._refuse_protected(steps, action="update")
            for step in steps:
                if plan is not None:
                    check_step(plan, step, stack=self.name)
                if on_output is not None and step.op != "same":
                    on_output(f"{step.op} {step.urn}")
                self._apply(step)
                if self.after_step is not None:
                    self.after_step(step)
            if plan is not None:
                check_all_seen(plan, stack=self.name)
            # Physical names are the mocks' names (see _physical_name), so the outputs need no rewriting.
            self.last_outputs.clear()
            self.last_outputs.update(declaration.outputs)
            self.updates += 1
            return dict(self.last_outputs)
        except Exception:
            raise
        except BaseException:
            # The process died: its lock file stays in the backend, naming a process that is gone.
            shared.left_lock = f"created by {getpass.getuser()}@{socket.gethostname()} (pid {dead_pid()}) at {_now()}"
            raise
        finally:
            self._busy.release()

    def _refuse_locked(self) -> None:
        """A lock a killed update left refuses ``up`` and ``stack import`` alike, naming its holder.

        A file backend takes a lock file per stack for an update, a refresh, a destroy and a state import
        (``diyBackend.Lock`` in ``pkg/backend/diy/backend.go``; refused by ``checkForLock`` in
        ``pkg/backend/diy/lock.go``); a preview, an export or a config change takes none.
        """
        holder = self.backend.stack(self.name).left_lock
        if holder is not None:
            raise StackBusyError(
                f"Stack {self.name} is locked by another update.",
                hint="Wait for it to finish, then rerun.",
                holders=engine_locks(holder),
            )

    def cancel_update(self) -> None:
        """``pulumi cancel``: the lock a killed update left is removed (with none, nothing happens); a file
        backend deletes every lock file of the stack (``CancelCurrentUpdate``, ``pkg/backend/diy/backend.go``)."""
        self.backend.stack(self.name).left_lock = None

    def outputs(self) -> dict[str, Any]:
        """The outputs of the last update."""
        return dict(self.last_outputs)

    def resources(self) -> list[StateResource]:
        """The resources in the double's state."""
        return [held.to_state_resource() for held in self.state.values()]

    # --- applying steps ---------------------------------------------------------------------

    def _steps(self, declaration: Declaration) -> list[Step]:
        return plan_steps(
            self.state, declaration.resources, read=self._read, stack=self.name, strict_import=self.strict_import
        )

    def _read(self, d: Declared) -> Mapping[str, Any]:
        """The provider's Read of a resource to import (the import step reads in a preview too)."""
        read = read_table(self._client("dynamodb"), d.import_id)
        if read is None:
            raise PulumiError(
                f"Pulumi could not update stack {self.name}: {d.type} ({d.name}): preview failed: resource "
                f"'{d.import_id}' does not exist",
                hint="Check the id given to `import` (the table's name and the region).",
            )
        return read

    def _declare(self, overrides: Mapping[str, Any] | None = None) -> Declaration:
        config = {**self.get_config(), **{k: _config_value(v) for k, v in (overrides or {}).items()}}
        # The program gets the ids of the resources the state holds, as the engine gives it their outputs
        # (a program callable without an ``ids`` parameter runs without them).
        extra: dict[str, Any] = {}
        if "ids" in inspect.signature(self.program).parameters:
            extra["ids"] = {urn: held.physical_id for urn, held in self.state.items()}
        try:
            if self.work_dir is None:
                declaration = self.program(config, self.name, **extra)
            else:
                declaration = self.program(config, self.name, work_dir=self.work_dir, **extra)
        except Exception as e:  # the engine reports any failure of the program as a failed preview/update
            raise PulumiError(
                f"The program of stack {self.name} failed: {e}", hint="Fix the stack config it names."
            ) from e
        self._refuse_missing_assets(declaration)
        return declaration

    # --- engine rule: assets are hashed at registration -------------------------------------------

    def _refuse_missing_assets(self, declaration: Declaration) -> None:
        """The engine hashes every asset and archive when a resource is registered (preview included),
        reading files relative to the program's folder; a missing file fails the registration:
        ``failed to compute archive hash for "code"`` (``pkg/resource/plugin/rpc.go``)."""
        base = self.work_dir or REPOSITORY
        for d in declaration.resources:
            for prop, kind, path in d.assets:
                if not (base / path).is_file() and not (base / path).is_dir():
                    raise PulumiError(
                        f"Pulumi could not run the program of stack {self.name}: {d.type} ({d.name}): failed to "
                        f'compute {kind} hash for "{prop}": open {path}: no such file or directory',
                        hint="Ship every file the program's assets name with the project.",
                    )

    def _refuse_protected(self, steps: Iterable[Step], *, action: str) -> None:
        """The engine's protect rules, checked in a preview as in an update (before its dry-run branch).

        A delete is refused when the *state* has ``protect`` (a program that stops declaring a resource
        cannot unprotect it in the same update: ``deleteProtectedError`` in ``pkg/resource/deploy/step.go``);
        a replace only when the old state and the new declaration both have it (unprotecting and replacing
        in one update is allowed: ``new.Protect && old.Protect`` in ``pkg/resource/deploy/step_generator.go``).
        The messages are the engine's.
        """
        for step in steps:
            old_protect = step.old is not None and step.old.declared.protect
            new_protect = step.new is not None and step.new.protect
            if step.op == "delete" and old_protect:
                problem = f'resource "{step.urn}" cannot be deleted because it is protected.'
            elif step.op == "replace" and old_protect and new_protect:
                problem = f'unable to replace resource "{step.urn}" as it is currently marked for protection.'
            else:
                continue
            raise PulumiError(
                f"Pulumi could not {action} stack {self.name}: {problem}",
                hint="Remove the `protect` flag from the resource in the program and run an update first.",
            )

    def _apply(self, step: Step) -> None:
        if step.old is not None and step.new is not None and step.old.declared.urn != step.new.urn:
            # Found through an alias: the old entry becomes the new one (the engine rewrites its URN).
            self.state.pop(step.old.declared.urn, None)
        if step.op == "same":
            assert step.old is not None and step.new is not None
            # Options (protect, retain) take effect even when no input changed.
            self.state[step.urn] = replace(step.old, declared=step.new)
        elif step.op == "create":
            assert step.new is not None
            self.state[step.urn] = Held(step.new, self._create_pending(step.new))
        elif step.op == "import":
            assert step.new is not None
            self._refuse_mismatched_import(step)
            self.state[step.urn] = Held(step.new, step.new.import_id, step.new.import_id)
        elif step.op == "update":
            assert step.old is not None and step.new is not None
            new = self._keep_ignored(step.old.declared, step.new)
            self._update(step.old, new)
            self.state[step.urn] = Held(new, step.old.physical_id, step.old.import_id)
        elif step.op == "replace":
            assert step.old is not None and step.new is not None
            self._refuse_replacing_an_import(step)
            self._delete(step.old)
            self.state[step.urn] = Held(step.new, self._create(step.new))
        else:
            assert step.old is not None
            self._delete(step.old)
            del self.state[step.urn]

    def _refuse_mismatched_import(self, step: Step) -> None:
        """Engines before 3.174 diff an import's declaration against what they read and fail on any difference."""
        if step.import_diffs:
            d = step.new
            assert d is not None
            raise PulumiError(
                f"Update of stack {self.name} failed: {d.type} ({d.name}): inputs to import do not match the existing "
                f"resource ({', '.join(step.import_diffs)})",
                hint="Declare the resource exactly as it is, then rerun.",
            )

    def _refuse_replacing_an_import(self, step: Step) -> None:
        """A goal with an id (``import_``) may not be replaced: the engine refuses it in an update."""
        d = step.new
        assert d is not None
        if d.import_id:
            raise PulumiError(
                f"Update of stack {self.name} failed: {d.type} ({d.name}): previously-imported resources that still "
                "specify an ID may not be replaced; please remove the `import` declaration from your program; "
                + ", ".join(step.replace_keys),
                hint="Declare the resource as it is, or remove `import`.",
            )

    @staticmethod
    def _keep_ignored(old: Declared, new: Declared) -> Declared:
        """``ignoreChanges`` keeps the old value of an input in state."""
        inputs = dict(new.inputs)
        for path in new.ignore_changes:
            top = path.split(".")[0].split("[")[0]
            if top in old.inputs:
                inputs[top] = old.inputs[top]
            else:
                inputs.pop(top, None)
        return replace(new, inputs=inputs)

    def _client(self, service: str) -> Any:
        settings = self.settings
        if settings is None:
            endpoint = self.config.get("endpoint")
            if not endpoint:
                raise AssertionError("The engine double only talks to an emulator: set the config's endpoint.")
            settings = AwsSettings(region=str(self.config.get("aws:region", "us-east-1")), endpoint_url=str(endpoint))
        if (settings, service) not in self._clients:
            self._clients[(settings, service)] = settings.client(service)
        return self._clients[(settings, service)]

    @staticmethod
    def _physical_name(d: Declared) -> str:
        given = d.inputs.get(NAME_INPUT.get(d.type, "name"))
        # Without a name input the engine auto-names; the mocks already did, and the outputs carry their name.
        return str(given or d.mock_id or f"{d.name}-{uuid.uuid4().hex[:7]}")

    def _create(self, d: Declared) -> str:
        physical = self._physical_name(d)
        if d.type == TABLE:
            self._create_table(physical, d.inputs)
        elif d.type == BUCKET:
            s3 = self._client("s3")
            with engine_errors(self.name, f"create bucket {physical}"):
                s3.create_bucket(Bucket=physical)
        elif d.type in (ROLE, FUNCTION):
            self._create_lambda_resource(physical, d)
        return physical

    def _update(self, old: Held, new: Declared) -> None:
        if new.type == TABLE:
            assert old.physical_id is not None
            self._configure_table(old.physical_id, new.inputs, old.declared.inputs)
        elif new.type == FUNCTION:
            assert old.physical_id is not None
            self._configure_function(old.physical_id, new.inputs)

    def _delete(self, old: Held) -> None:
        d = old.declared
        if d.retain_on_delete or old.physical_id is None:
            return
        if d.type == TABLE:
            dynamodb = self._client("dynamodb")
            with engine_errors(self.name, f"delete table {old.physical_id}"):
                dynamodb.delete_table(TableName=old.physical_id)
        elif d.type == BUCKET:
            self._delete_bucket(old.physical_id, force=bool(d.inputs.get("forceDestroy")))
        elif d.type in (ROLE, FUNCTION):
            self._delete_lambda_resource(old.physical_id, d)

    def _delete_bucket(self, bucket: str, *, force: bool) -> None:
        s3 = self._client("s3")
        with engine_errors(self.name, f"delete bucket {bucket}"):
            if force:
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    for obj in page.get("Contents", []):
                        s3.delete_object(Bucket=bucket, Key=obj["Key"])
            s3.delete_bucket(Bucket=bucket)

    # --- pending operations (engine rules: pkg/backend/snapshot.go) ---

    def _create_pending(self, d: Declared) -> str:
        """Create ``d`` the way the engine journals it: a pending create recorded before the provider is
        called, cleared when the call returns (a failed create clears it too). A process that dies
        meanwhile (a ``BaseException`` here) leaves it in the state; the next update only warns and calls
        Create again, and carries the old pending create on: only a state edit drops it."""
        op = PendingOp("creating", d)
        pending = self.backend.stack(self.name).pending
        pending.append(op)
        try:
            physical = self._create(d)
        except Exception:
            pending.remove(op)
            raise
        pending.remove(op)
        return physical

    def export_deployment(self) -> dict[str, Any]:
        """The state as ``pulumi stack export``'s ``deployment`` object: resources and pending operations."""
        resources = [
            {
                "urn": h.declared.urn,
                "type": h.declared.type,
                "id": h.physical_id or "",
                "custom": True,
                "protect": h.declared.protect,
                "retainOnDelete": h.declared.retain_on_delete,
                "inputs": dict(h.declared.inputs),
            }
            for h in self.state.values()
        ]
        pending = [op.to_export() for op in self.backend.stack(self.name).pending]
        return {"resources": resources, **({"pending_operations": pending} if pending else {})}

    def pending_creates(self) -> list[PendingCreate]:
        """The pending creates of the state, read from its ``stack export`` form as the workspace reads it."""
        return workspace_pending_creates(self.export_deployment())

    def clear_pending_creates(self, urns: Iterable[str]) -> None:
        """Drop the pending creates of ``urns`` (``stack export``, edit, ``stack import``); AWS keeps what they made."""
        drop = set(urns)
        self._refuse_locked()
        shared = self.backend.stack(self.name)
        shared.pending[:] = [op for op in shared.pending if op.declared.urn not in drop]

    def _exists(self, d: Declared, physical: str) -> bool:
        if d.type != TABLE:
            return True
        try:
            self._client("dynamodb").describe_table(TableName=physical)
        except self._client("dynamodb").exceptions.ResourceNotFoundException:
            return False
        return True

    # --- tables -----------------------------------------------------------------------------

    def _create_table(self, name: str, inputs: Mapping[str, Any]) -> None:
        dynamodb = self._client("dynamodb")
        params = create_params(name, inputs)
        source = inputs.get("importTable")
        with engine_errors(self.name, f"create table {name}"):
            if source:
                # ImportTable takes keys, billing, global indexes and encryption; the rest comes by update.
                self._import_table(dynamodb, import_params(params), source)
                done: dict[str, Any] = {}
            else:
                dynamodb.create_table(**params)
                done = applied_at_creation(params, inputs)
            dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self._configure_table(name, inputs, done)

    def _import_table(self, dynamodb: Any, params: Mapping[str, Any], source: Mapping[str, Any]) -> None:
        # AWS refuses ImportTable into a table that exists (ResourceInUseException) at the call; moto
        # accepts the call and reports a FAILED import instead, so the double checks first.
        if self._exists(Declared("", TABLE, "", {}), params["TableName"]):
            raise PulumiError(
                f"Update of stack {self.name} failed: creating DynamoDB Table ({params['TableName']}): "
                f"ResourceInUseException: Table already exists: {params['TableName']}",
                hint="Resolve the pending create of the table (adopt it), then rerun.",
                code="ResourceInUseException",
            )
        bucket_source = source["s3BucketSource"]
        s3_source = {"S3Bucket": bucket_source["bucket"]}
        if bucket_source.get("keyPrefix"):
            s3_source["S3KeyPrefix"] = bucket_source["keyPrefix"]
        arn = dynamodb.import_table(
            S3BucketSource=s3_source,
            InputFormat=source.get("inputFormat") or "DYNAMODB_JSON",
            InputCompressionType=source.get("inputCompressionType") or "NONE",
            TableCreationParameters=dict(params),
        )["ImportTableDescription"]["ImportArn"]
        # The provider waits for the import to finish; a failed import fails the create.
        while (desc := dynamodb.describe_import(ImportArn=arn)["ImportTableDescription"])["ImportStatus"] in (
            "IN_PROGRESS",
        ):
            time.sleep(self.poll_seconds)
        if desc["ImportStatus"] != "COMPLETED":
            raise PulumiError(
                f"Creating table {params['TableName']} failed: import {desc['ImportStatus']} "
                f"({desc.get('FailureCode')}: {desc.get('FailureMessage')}).",
                hint="Check importSource in the stack config.",
            )

    def _configure_table(self, name: str, new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
        """Apply the settable table inputs that differ from ``old`` (everything declared, on create)."""
        dynamodb = self._client("dynamodb")
        with engine_errors(self.name, f"update table {name}"):
            pitr = bool((new.get("pointInTimeRecovery") or {}).get("enabled"))
            if pitr != bool((old.get("pointInTimeRecovery") or {}).get("enabled")):
                dynamodb.update_continuous_backups(
                    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr}
                )
            ttl, old_ttl = new.get("ttl") or {}, old.get("ttl") or {}
            if ttl.get("enabled") and (ttl.get("attributeName"), True) != (
                old_ttl.get("attributeName"),
                old_ttl.get("enabled"),
            ):
                dynamodb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"AttributeName": ttl["attributeName"], "Enabled": True}
                )
            protection = bool(new.get("deletionProtectionEnabled"))
            if protection != bool(old.get("deletionProtectionEnabled")):
                dynamodb.update_table(TableName=name, DeletionProtectionEnabled=protection)
            self._configure_stream_and_tags(dynamodb, name, new, old)

    @staticmethod
    def _configure_stream_and_tags(dynamodb: Any, name: str, new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
        stream = (bool(new.get("streamEnabled")), new.get("streamViewType") if new.get("streamEnabled") else None)
        was = (bool(old.get("streamEnabled")), old.get("streamViewType") if old.get("streamEnabled") else None)
        if stream != was:
            if was[0]:  # a stream's view type cannot change in place: off, then on again
                dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
            if stream[0]:
                dynamodb.update_table(
                    TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": stream[1]}
                )
        tags, old_tags = dict(new.get("tags") or {}), dict(old.get("tags") or {})
        if tags != old_tags:
            arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
            # A changed value is untagged first: moto's TagResource adds a second tag with the key (AWS overwrites).
            if gone := [k for k in old_tags if tags.get(k) != old_tags[k]]:
                dynamodb.untag_resource(ResourceArn=arn, TagKeys=gone)
            if changed := {k: v for k, v in tags.items() if old_tags.get(k) != v}:
                dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in changed.items()])

    # --- IAM roles and Lambda functions (moto needs the role to create the function) ----------------

    def _create_lambda_resource(self, physical: str, d: Declared) -> None:
        if d.type == ROLE:
            with engine_errors(self.name, f"create role {physical}"):
                self._client("iam").create_role(
                    RoleName=physical, AssumeRolePolicyDocument=str(d.inputs.get("assumeRolePolicy") or "{}")
                )
            return
        inputs = d.inputs
        with engine_errors(self.name, f"create function {physical}"):
            self._client("lambda").create_function(
                FunctionName=physical,
                Runtime=str(inputs.get("runtime") or "python3.12"),
                Role=str(inputs["role"]),
                Handler=str(inputs.get("handler") or "handler.handler"),
                Code={"ZipFile": self._archive(inputs.get("code"))},
                Timeout=int(inputs.get("timeout") or 3),
                Environment={"Variables": dict((inputs.get("environment") or {}).get("variables") or {})},
            )

    def _configure_function(self, name: str, inputs: Mapping[str, Any]) -> None:
        with engine_errors(self.name, f"update function {name}"):
            self._client("lambda").update_function_configuration(
                FunctionName=name,
                Timeout=int(inputs.get("timeout") or 3),
                Environment={"Variables": dict((inputs.get("environment") or {}).get("variables") or {})},
            )

    def _delete_lambda_resource(self, physical: str, d: Declared) -> None:
        with engine_errors(self.name, f"delete {d.type} {physical}"):
            if d.type == ROLE:
                self._client("iam").delete_role(RoleName=physical)
            else:
                self._client("lambda").delete_function(FunctionName=physical)

    def _archive(self, code: Any) -> bytes:
        """A zip of the files an ``AssetArchive`` input names (paths relative to the program's folder)."""
        base = self.work_dir or REPOSITORY
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, asset in ((code or {}).get("AssetArchive") or {}).items():
                path = (asset or {}).get("FileAsset")
                if path:
                    archive.write(base / path, name)
        return buffer.getvalue()


def dead_pid() -> int:
    """A process id that no process on this machine has now (a killed update's)."""
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@contextmanager
def engine_errors(stack: str, action: str) -> Iterator[None]:
    """Whatever AWS says while a step is applied surfaces as a failed update, as it does through Pulumi."""
    try:
        with aws_errors(action):
            yield
    except PulumiError:
        raise
    except MigrationError as e:
        raise PulumiError(f"Update of stack {stack} failed: {e.message}", hint=e.hint, code=e.code) from e
