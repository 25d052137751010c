"""An engine double for the end-to-end tests: the real Pulumi program under mocks, applied to moto with boto3.

``MockEngineStack`` implements :class:`migrator.engine.workspace.StackPort` the way the Pulumi engine would
for this project's resources. Each ``preview()``/``up()`` runs the real program under Pulumi's mocks
with the stack's config, diffs what it declares against the double's state (the previous
declaration plus physical ids) and, on ``up()``, applies the difference to a moto server:

- DynamoDB tables: ``create_table``, or ``import_table`` when ``importTable`` is declared (waited on
  until it finishes, like the provider does); point-in-time recovery, TTL and deletion protection.
- S3 buckets: created and (when ``forceDestroy``) emptied and deleted. Public access block,
  encryption, ownership and policy resources are kept in state only.
- Everything else (the consumer Lambda, its IAM role and policies, providers, components): state only.

Deleting follows the engine: a protected resource fails the update; ``retainOnDelete`` drops it from
state and leaves it in AWS; otherwise the table is deleted (which AWS refuses under deletion
protection). A change to a table's create-only inputs (name, key schema, ``importTable``) not covered
by ``ignoreChanges`` is a replace. It proves the program and the orchestrator agree on config keys,
prefixes and names; it does not replace the real-engine test.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from migrator.core.errors import MigrationError, PulumiError, StackBusyError
from migrator.core.guard import PlannedChange, Preview
from migrator.data.aws import AwsSettings, aws_errors
from migrator.engine.workspace import StateResource

TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
# Inputs the provider marks ForceNew: changing one replaces the resource.
CREATE_ONLY = {TABLE: ("name", "hashKey", "rangeKey", "importTable"), BUCKET: ("bucket",)}
NAME_INPUT = {TABLE: "name", BUCKET: "bucket"}


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


@dataclass(frozen=True)
class Declaration:
    """What one run of the program declares: resources in registration order, and the stack outputs."""

    resources: tuple[Declared, ...]
    outputs: dict[str, Any]


# Runs the program for a config (short keys plus ``aws:region``) and a stack name.
Program = Callable[[Mapping[str, Any], str], Declaration]
# Pulumi's runtime state is global: one program run at a time in this process.
_PROGRAM_LOCK = threading.Lock()


def program_under_mocks(config: Mapping[str, Any], stack: str) -> Declaration:
    """Run the real program (``stacks.app.main``) under Pulumi's mocks with ``config``; what it declares."""
    from tests.stack.harness import run_program

    with _PROGRAM_LOCK:
        try:
            asyncio.get_event_loop()
        except RuntimeError:  # a migration running in another thread: Pulumi's runtime needs a loop there
            asyncio.set_event_loop(asyncio.new_event_loop())
        recorded = run_program(config, stack=stack)
    resources = tuple(
        Declared(r.urn, r.type, r.name, _plain(r.inputs), r.protect, r.retain_on_delete, r.ignore_changes, r.id)
        for r in recorded.resources
    )
    return Declaration(resources, _plain(recorded.outputs))


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

    def to_state_resource(self) -> StateResource:
        d = self.declared
        return StateResource(d.urn, d.type, d.name, d.protect, d.retain_on_delete, self.physical_id)


@dataclass(frozen=True)
class Step:
    """One planned step: ``op`` is create, update, replace, delete or same; ``replace_keys`` why a replace."""

    op: str
    old: Held | None
    new: Declared | None
    replace_keys: tuple[str, ...] = ()

    @property
    def urn(self) -> str:
        return self.new.urn if self.new is not None else self.old.declared.urn  # type: ignore[union-attr]

    def to_planned_change(self) -> PlannedChange:
        target = self.new if self.new is not None else self.old.declared  # type: ignore[union-attr]
        retain = self.old.declared.retain_on_delete if self.old is not None else target.retain_on_delete
        physical = self.old.physical_id if self.old is not None else None
        return PlannedChange(target.urn, target.type, target.name, self.op, retain, physical, self.replace_keys)


def plan_steps(state: Mapping[str, Held], declared: Iterable[Declared]) -> list[Step]:
    """Diff the state against a declaration the way the engine does (pure)."""
    steps: list[Step] = []
    seen: set[str] = set()
    for new in declared:
        seen.add(new.urn)
        old = state.get(new.urn)
        if old is None:
            steps.append(Step("create", None, new))
            continue
        changed = _changed_inputs(old.declared.inputs, new.inputs, new.ignore_changes)
        if forced := sorted(changed & set(CREATE_ONLY.get(new.type, ()))):
            steps.append(Step("replace", old, new, tuple(forced)))
        elif changed:
            steps.append(Step("update", old, new))
        else:
            steps.append(Step("same", old, new))
    # The engine deletes in reverse order of creation, after every create and update.
    steps.extend(Step("delete", old, None) for urn, old in reversed(list(state.items())) if urn not in seen)
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


@dataclass
class MockEngineStack:
    """A :class:`~migrator.engine.workspace.StackPort` backed by the program under mocks and a moto server."""

    name: str
    config: dict[str, Any]
    program: Program
    settings: AwsSettings | None = None  # default: aws:region and the config's endpoint
    poll_seconds: float = 0.05
    state: dict[str, Held] = field(default_factory=dict)
    last_outputs: dict[str, Any] = field(default_factory=dict)
    updates: int = 0  # how many ``up()`` calls finished
    # Called with each step ``up()`` has just applied. A test raises there to kill the update half way:
    # the steps applied so far stay in the state (and in AWS), as in an interrupted engine's checkpoint.
    after_step: Callable[[Step], None] | None = None
    _busy: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients: dict[tuple[AwsSettings, str], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.config = {k: _config_value(v) for k, v in self.config.items()}

    # --- config -----------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The stack config, short keys plus ``aws:region`` (a copy)."""
        return copy.deepcopy(self.config)

    def set_config(self, values: Mapping[str, Any]) -> None:
        """Set config values (short keys)."""
        self.config.update({k: _config_value(v) for k, v in values.items()})

    def remove_config(self, keys: Iterable[str]) -> None:
        """Remove config keys; absent keys are fine."""
        for k in keys:
            self.config.pop(k, None)

    # --- engine -----------------------------------------------------------------------------

    def preview(self) -> Preview:
        """What an update would do now; fails like the engine when a protected resource would go."""
        steps = plan_steps(self.state, self._declare().resources)
        self._refuse_protected(steps)
        counts: dict[str, int] = {}
        for step in steps:
            counts[step.op] = counts.get(step.op, 0) + 1
        return Preview(tuple(s.to_planned_change() for s in steps if s.op != "same"), counts)

    def up(self, on_output: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Apply the program's declaration to moto; return the outputs. One update at a time, like the engine."""
        if not self._busy.acquire(blocking=False):
            raise StackBusyError(
                f"Stack {self.name} is locked by another update.", hint="Wait for it to finish, then rerun."
            )
        try:
            declaration = self._declare()
            steps = plan_steps(self.state, declaration.resources)
            self._refuse_protected(steps)
            for step in steps:
                if on_output is not None and step.op != "same":
                    on_output(f"{step.op} {step.urn}")
                self._apply(step)
                if self.after_step is not None:
                    self.after_step(step)
            # Physical names are the mocks' names (see _physical_name), so the outputs need no rewriting.
            self.last_outputs = dict(declaration.outputs)
            self.updates += 1
            return dict(self.last_outputs)
        finally:
            self._busy.release()

    def outputs(self) -> dict[str, Any]:
        """The outputs of the last update."""
        return dict(self.last_outputs)

    def resources(self) -> list[StateResource]:
        """The resources in the double's state."""
        return [held.to_state_resource() for held in self.state.values()]

    def unprotect(self, urn: str) -> None:
        """Clear ``protect`` on one resource in state, like ``pulumi state unprotect``."""
        held = self.state.get(urn)
        if held is None:
            raise PulumiError(f"No resource {urn} in stack {self.name}.", hint="Check the URN with `migrate status`.")
        self.state[urn] = replace(held, declared=replace(held.declared, protect=False))

    # --- applying steps ---------------------------------------------------------------------

    def _declare(self) -> Declaration:
        try:
            return self.program(self.get_config(), self.name)
        except Exception as e:  # the engine reports any failure of the program as a failed preview/update
            raise PulumiError(
                f"The program of stack {self.name} failed: {e}", hint="Fix the stack config it names."
            ) from e

    def _refuse_protected(self, steps: Iterable[Step]) -> None:
        for step in steps:
            if step.op in ("delete", "replace") and step.old is not None and step.old.declared.protect:
                raise PulumiError(
                    f"Update of stack {self.name} failed: resource {step.urn} is protected and would be "
                    f"{'deleted' if step.op == 'delete' else 'replaced'}.",
                    hint="Unprotect it first (`pulumi state unprotect`).",
                )

    def _apply(self, step: Step) -> None:
        if step.op == "same":
            assert step.old is not None and step.new is not None
            # Options (protect, retain) take effect even when no input changed.
            self.state[step.urn] = replace(step.old, declared=step.new)
        elif step.op == "create":
            assert step.new is not None
            self.state[step.urn] = Held(step.new, self._create(step.new))
        elif step.op == "update":
            assert step.old is not None and step.new is not None
            new = self._keep_ignored(step.old.declared, step.new)
            self._update(step.old, new)
            self.state[step.urn] = Held(new, step.old.physical_id)
        elif step.op == "replace":
            assert step.old is not None and step.new is not None
            self._delete(step.old)
            self.state[step.urn] = Held(step.new, self._create(step.new))
        else:
            assert step.old is not None
            self._delete(step.old)
            del self.state[step.urn]

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
        return physical

    def _update(self, old: Held, new: Declared) -> None:
        if new.type == TABLE:
            assert old.physical_id is not None
            self._configure_table(old.physical_id, new.inputs, old.declared.inputs)

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

    def _delete_bucket(self, bucket: str, *, force: bool) -> None:
        s3 = self._client("s3")
        with engine_errors(self.name, f"delete bucket {bucket}"):
            if force:
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    for obj in page.get("Contents", []):
                        s3.delete_object(Bucket=bucket, Key=obj["Key"])
            s3.delete_bucket(Bucket=bucket)

    # --- tables -----------------------------------------------------------------------------

    def _create_table(self, name: str, inputs: Mapping[str, Any]) -> None:
        dynamodb = self._client("dynamodb")
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        params: dict[str, Any] = {
            "TableName": name,
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
            ],
            "BillingMode": inputs.get("billingMode") or "PROVISIONED",
        }
        if params["BillingMode"] == "PROVISIONED":
            params["ProvisionedThroughput"] = {
                "ReadCapacityUnits": int(inputs.get("readCapacity") or 1),
                "WriteCapacityUnits": int(inputs.get("writeCapacity") or 1),
            }
        source = inputs.get("importTable")
        with engine_errors(self.name, f"create table {name}"):
            if source:
                self._import_table(dynamodb, params, source)
            else:
                dynamodb.create_table(**params)
            dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self._configure_table(name, inputs, {})

    def _import_table(self, dynamodb: Any, params: Mapping[str, Any], source: Mapping[str, Any]) -> None:
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
