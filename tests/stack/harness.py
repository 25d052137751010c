"""Run the real Pulumi program under Pulumi's mocks and record what it declares.

Independent of pytest, so the engine double can use it too::

    from tests.stack.harness import run_program

    recorded = run_program({"legacyTable": {...}, "aws:region": "us-east-1"}, stage=2, stack="dev")
    table = recorded.one("table-new")                      # by Pulumi logical name
    table.inputs["importTable"]["s3BucketSource"]    # inputs as the engine sees them (camelCase)
    table.protect, table.retain_on_delete, table.ignore_changes, table.custom_timeouts
    recorded.outputs["activeTableName"]
    recorded.one("table-export-bucket").state["bucket"]    # provider-computed values come from ProgramMocks

Registration order follows Pulumi's asynchronous resolution: look resources up by name or URN.
Call it from one thread at a time (Pulumi's runtime settings are process-wide).

Config keys without a namespace get ``table-migration:``; dict and list values are passed as JSON
text, as the Pulumi CLI passes object config to a program. Each call resets Pulumi's global runtime
state, so it can be called any number of times in one process. A program error (e.g. a
:class:`migrator.program.config.StackConfigError`) is raised to the caller.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from migrator.core.config import NAMESPACE

ACCOUNT = "123456789012"
PROJECT = "table-migration"


def example_config() -> dict[str, Any]:
    """The example application's stack config (the README's "Stack config") with a recorded import source."""
    return {
        "aws:region": "us-east-1",
        "legacyTable": {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}, "ttlAttribute": "ExpiresAt"},
        "newTable": {"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "S"}, "ttlAttribute": "ExpiresAt"},
        "derive": {"UUID": "uuid5(Name)"},
        "importSource": {
            "bucket": "exports-bucket",
            "keyPrefix": "transformed/dev/MyNewTable/data/",
            "compression": "GZIP",
            "itemCount": 3,
        },
    }


@dataclass(frozen=True)
class RecordedResource:
    """One ``RegisterResource`` request: what the program declared, with its resource options."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    ignore_changes: tuple[str, ...]
    custom_timeouts: dict[str, str]
    provider: str
    dependencies: tuple[str, ...]
    id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[dict[str, Any], ...] = ()  # ``{"urn": …}`` or an alias spec (name, type, parentUrn, noParent…)
    import_id: str = ""  # ``ResourceOptions(import_=…)``

    @property
    def provider_name(self) -> str | None:
        """The logical name of the explicit provider (``urn::id`` reference), or None for the default."""
        if not self.provider:
            return None
        urn = self.provider.split("::")[:-1]
        return urn[-1] if urn else None


@dataclass(frozen=True)
class Recorded:
    """Everything one run of the program declared, and its stack outputs (resolved)."""

    stack: str
    resources: tuple[RecordedResource, ...]
    outputs: dict[str, Any]

    def find(self, *, type: str | None = None, name: str | None = None) -> list[RecordedResource]:
        """Resources matching a type token and/or logical name, in registration order."""
        return [r for r in self.resources if (type is None or r.type == type) and (name is None or r.name == name)]

    def one(self, name: str, *, type: str | None = None) -> RecordedResource:
        """The single resource with this logical name (and type); KeyError if there is not exactly one."""
        found = self.find(type=type, name=name)
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r} (type {type}); declared: {self.names()}")
        return found[0]

    def has(self, name: str) -> bool:
        """True when a resource with this logical name was declared."""
        return bool(self.find(name=name))

    def names(self) -> list[str]:
        """Logical names of every declared resource."""
        return [r.name for r in self.resources]

    def by_urn(self, urn: str) -> RecordedResource:
        """The resource with this URN."""
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)


class ProgramMocks(pulumi_mocks.Mocks):
    """Plausible provider answers: the inputs back, plus ids, ARNs and auto-names computed deterministically.

    ``known`` maps (type, name) to the id a resource already has (an engine gives a program the ids of
    the resources its state holds): an auto-named resource keeps that name instead of a new one.
    """

    def __init__(self, *, stack: str, region: str) -> None:
        self.stack = stack
        self.region = region
        self.known: dict[tuple[str, str], str] = {}

    def _auto_name(self, name: str, kind: str = "") -> str:
        if (kind, name) in self.known:
            return self.known[(kind, name)]
        return f"{name}-{hashlib.sha1(f'{self.stack}/{name}'.encode()).hexdigest()[:7]}"

    def prior(self, urn: str, request: Any) -> None:
        """Called with each resource's URN before it registers (a hook for mocks that know a prior state)."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        """The id and output state of a resource."""
        state = dict(args.inputs)
        kind = args.typ
        if kind == "aws:dynamodb/table:Table":
            state["arn"] = f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{state['name']}"
            return state["name"], state
        if kind == "aws:s3/bucket:Bucket":
            state.setdefault("bucket", self._auto_name(args.name, kind))
            state["arn"] = f"arn:aws:s3:::{state['bucket']}"
            return state["bucket"], state
        if kind == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{state['name']}"
            return state["name"], state
        if kind == "aws:iam/role:Role":
            state.setdefault("name", self._auto_name(args.name, kind))
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{state['name']}"
            return state["name"], state
        if kind == "aws:lambda/function:Function":
            state.setdefault("name", self._auto_name(args.name, kind))
            state["arn"] = f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{state['name']}"
            return state["name"], state
        return self.known.get((kind, args.name), f"{args.name}-id"), state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        """The program makes no invokes; answer empty if a library does."""
        return {}, None


def engine_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """The URN the engine gives a resource: its parent's whole qualified type (the root stack left out), then its own.

    Pulumi's MockMonitor puts only the parent's last type in front (and the root stack's), so a child of a
    child gets a URN the engine never makes (``urn.New`` in sdk/go/common/resource/urn/urn.go).
    """
    if parent:
        qualified = parent.split("::")[2]
        if qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
    return "urn:pulumi:" + "::".join([stack, project, type_, name])


def alias_specs(request: Any) -> tuple[dict[str, Any], ...]:
    """The aliases of a RegisterResource request, as plain dicts (the SDK sends specs to a monitor that takes them)."""
    found: list[dict[str, Any]] = []
    for alias in request.aliases:
        if alias.WhichOneof("alias") == "urn":
            found.append({"urn": alias.urn})
            continue
        spec = alias.spec
        found.append(
            {
                "name": spec.name,
                "type": spec.type,
                "stack": spec.stack,
                "project": spec.project,
                "parentUrn": spec.parentUrn,
                "noParent": spec.noParent,
            }
        )
    return tuple(found)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every RegisterResource request, with the options mocks never see.

    URNs are made the engine's way (:func:`engine_urn`).
    """

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(pulumi.get_stack(), pulumi.get_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        if isinstance(self.mocks, ProgramMocks) and request.type != "pulumi:pulumi:Stack":
            self.mocks.prior(self.make_urn(request.parent, request.type, request.name), request)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registration = self.resources.get(response.urn)
        timeouts = request.customTimeouts
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                ignore_changes=tuple(request.ignoreChanges),
                custom_timeouts={
                    k: v
                    for k, v in (
                        ("create", timeouts.create),
                        ("update", timeouts.update),
                        ("delete", timeouts.delete),
                    )
                    if v
                },
                provider=request.provider,
                dependencies=tuple(request.dependencies),
                id=registration.id if registration else None,
                state=dict(registration.state) if registration else {},
                aliases=alias_specs(request),
                import_id=request.importId,
            )
        )
        return response


def config_values(config: Mapping[str, Any], stage: int | str | None = None) -> dict[str, str]:
    """Config as the Pulumi CLI hands it to a program: full keys, text values, objects as JSON."""
    values: dict[str, str] = {}
    for key, value in config.items():
        full = key if ":" in key else f"{NAMESPACE}:{key}"
        if isinstance(value, Mapping | list):
            values[full] = json.dumps(value)
        else:
            values[full] = str(value).lower() if isinstance(value, bool) else str(value)
    if stage is not None:
        values[f"{NAMESPACE}:stage"] = str(stage)
    return values


def _reset_runtime() -> None:
    # Pulumi keeps the root stack resource, pending RPCs and outputs in module globals.
    pulumi_settings.ROOT.set(None)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()


async def _resolve(outputs: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for name, value in outputs.items():
        resolved[name] = await pulumi.Output.from_input(value).future()
    return resolved


def _default_program() -> None:
    from stacks.app import main

    main()


def project_program(work_dir: Path) -> Callable[[], None]:
    """The program the engine runs for the Pulumi project in ``work_dir``: its ``__main__.py``.

    As Pulumi's Python host does, the folder comes first on ``sys.path``, so ``stacks`` (and any other
    module of the project) is imported from there, not from this repository; ``migrator`` comes from
    the installed package, as in any project that depends on it.
    """
    work_dir = Path(work_dir).resolve()
    own = {p.stem for p in work_dir.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    own.discard("migrator")  # the installed package, shared with this process: never swapped

    def ours(module: str) -> bool:
        return module.split(".", 1)[0] in own

    def run() -> None:
        saved = {name: mod for name, mod in sys.modules.items() if ours(name)}
        for name in saved:
            del sys.modules[name]
        sys.path.insert(0, str(work_dir))
        try:
            runpy.run_path(str(work_dir / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(work_dir))
            for name in [n for n in sys.modules if ours(n)]:
                del sys.modules[name]
            sys.modules.update(saved)

    return run


def asset_paths(value: Any) -> list[tuple[str, str]]:
    """Every file an asset or archive in ``value`` (resource inputs) points at: ``(kind, path)``.

    ``kind`` is ``asset`` for a ``FileAsset`` that is a property itself, ``archive`` for a
    ``FileArchive`` or for any file inside an ``AssetArchive`` (the engine hashes the whole archive).
    """
    found: list[tuple[str, str]] = []

    def walk(item: Any, inside_archive: bool) -> None:
        if isinstance(item, pulumi.FileAsset | pulumi.FileArchive):
            kind = "archive" if inside_archive or isinstance(item, pulumi.FileArchive) else "asset"
            found.append((kind, str(item.path)))
        elif isinstance(item, pulumi.AssetArchive):
            for nested in item.assets.values():
                walk(nested, True)
        elif isinstance(item, Mapping):
            for nested in item.values():
                walk(nested, inside_archive)
        elif isinstance(item, list | tuple):
            for nested in item:
                walk(nested, inside_archive)

    walk(value, False)
    return found


def run_program(
    config: Mapping[str, Any],
    stage: int | str | None = None,
    *,
    stack: str = "dev",
    preview: bool = False,
    program: Callable[[], None] | None = None,
    mocks: pulumi_mocks.Mocks | None = None,
) -> Recorded:
    """Run the program (default ``stacks.app.main``) under mocks with ``config``; return what it declared.

    ``stage`` overrides ``table-migration:stage`` in ``config``. ``mocks`` replaces :class:`ProgramMocks`.
    """
    values = config_values(config, stage)
    region = values.get("aws:region", "us-east-1")
    monitor = RecordingMonitor(mocks or ProgramMocks(stack=stack, region=region))
    _reset_runtime()
    pulumi.runtime.set_all_config(values)
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    outputs: dict[str, Any] = {}

    async def run() -> None:
        (program or _default_program)()
        root = pulumi_settings.get_root_resource()
        outputs.update(await _resolve(getattr(root, "outputs", {})))

    try:
        _sync_await(run_pulumi_func(run))
    finally:
        _reset_runtime()
    return Recorded(stack=stack, resources=tuple(monitor.recorded), outputs=outputs)
