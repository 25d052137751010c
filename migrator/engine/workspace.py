"""The door to Pulumi: one stack of the project in ``--work-dir``, through the Automation API.

This is the only module that imports ``pulumi.automation``. It finds the ``pulumi`` CLI first (the
SDK runs ``pulumi version`` as soon as a workspace is built), selects or creates the stack, reads and
writes its config, previews (collecting the engine's resource events for the guard), updates, and
reads outputs and state. Every Pulumi failure leaves here as one of our errors, with what to do next.

The backend is Pulumi's own: ``PULUMI_BACKEND_URL`` (``file://…``, ``s3://…``) or the ``pulumi login``
session (Pulumi Cloud works unchanged).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from pulumi import automation as auto
from pulumi.automation.events import EngineEvent

from migrator.core.errors import (
    BadInputError,
    ConfigError,
    PulumiError,
    PulumiNotInstalledError,
    StackBusyError,
    StackNotFoundError,
)
from migrator.core.guard import PlannedChange, Preview
from migrator.core.ports import PendingCreate, Progress, StateResource
from migrator.engine.backend_lock import engine_locks
from migrator.engine.cli_lookup import cli_root, find_pulumi_cli
from migrator.engine.config_text import (
    decode_config,
    full_key,
    project_config_dir,
    set_all_json,
    settings_name,
    stack_settings_file,
)
from migrator.engine.diagnostics import diagnostics, error_lines
from migrator.engine.state import (
    interrupted_changes,
    pending_creates,
    state_resources,
    urn_name,
    without_pending,
)

INSTALL_HINT = (
    "Install it with `curl -fsSL https://get.pulumi.com | sh` (or `brew install pulumi`) and make sure `pulumi` "
    "is on PATH, or, where the network allows, from Python: "
    "`python -c 'from migrator.engine.workspace import install_pulumi_cli; install_pulumi_cli()'` "
    "(wraps pulumi.automation.PulumiCommand.install())."
)
# Update plans: `preview --save-plan` lost its "[PREVIEW]" label in this CLI release, while `up --plan` is
# still marked "[EXPERIMENTAL]" in the CLI's help (3.274 included). The engine honours both; should it ever
# refuse an update as violating a plan when the preview showed nothing unexpected, UPDATE_PLANS_ENV=off
# updates without one (the guard still checks each preview).
UPDATE_PLANS_SINCE = (3, 190, 0)
# The oldest CLI the migrator runs with: it applies a difference found at an import as an update right
# after it (older engines fail the import; `legacyTable.adopt` and the recovery of a killed stage 2 rely
# on it), and it has every flag passed here (`config set-all --json`, `--config-file`, `--save-plan`).
MINIMUM_CLI = (3, 174, 0)
UPDATE_PLANS_ENV = "TABLE_MIGRATION_UPDATE_PLANS"


# --- the CLI ------------------------------------------------------------------------------------


def install_pulumi_cli(root: Path | None = None) -> Path:
    """Download the Pulumi CLI matching the SDK (``PulumiCommand.install()``); return the executable.

    Needs internet (get.pulumi.com). Called by ``migrate demo`` when no CLI is found (unless
    ``--no-install``) and by users who ask for it; ``migrate up/down/plan/status`` never install.
    """
    try:
        command = auto.PulumiCommand.install(root=str(root) if root else None)
    except (urllib.error.URLError, OSError, subprocess.CalledProcessError, auto.InvalidVersionError) as e:
        raise PulumiNotInstalledError(
            f"Could not install the Pulumi CLI: {e}.",
            hint="Without internet access install it by hand: see https://www.pulumi.com/docs/install/.",
        ) from e
    return Path(command.command)


def pulumi_command(environ: Mapping[str, str] | None = None) -> auto.PulumiCommand:
    """A ``PulumiCommand`` for the CLI found by :func:`find_pulumi_cli`; :class:`PulumiNotInstalledError` if none."""
    env = {**os.environ, **(environ or {})}
    path = find_pulumi_cli(env)
    if path is None:
        raise PulumiNotInstalledError(
            "The `pulumi` CLI is not installed (not on PATH, not in ~/.pulumi/bin).", hint=INSTALL_HINT
        )
    opt_out = env.get("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK") is not None
    root = cli_root(path)
    try:
        # root/bin/pulumi is what PulumiCommand runs; it then also finds the plugins bundled next to it.
        command = auto.PulumiCommand(root=str(root) if root else None, skip_version_check=opt_out)
    except auto.InvalidVersionError as e:
        raise PulumiNotInstalledError(f"The `pulumi` CLI at {path} cannot be used: {e}", hint=INSTALL_HINT) from e
    except (OSError, subprocess.CalledProcessError) as e:
        raise PulumiNotInstalledError(f"The `pulumi` CLI at {path} does not run: {e}.", hint=INSTALL_HINT) from e
    check_cli_version(command.version, path)
    return command


def check_cli_version(version: Any, path: Path | str) -> None:
    """Refuse a CLI older than :data:`MINIMUM_CLI` (``version`` is the SDK's semver, None when unknown)."""
    if version is None:
        return
    found = (version.major, version.minor, version.patch)
    if found < MINIMUM_CLI:
        need = ".".join(map(str, MINIMUM_CLI))
        raise PulumiNotInstalledError(
            f"The `pulumi` CLI at {path} is version {version}; the migrator needs {need} or later (it relies on "
            "how the engine imports a resource, and on `config set-all --json`).",
            hint="Upgrade it (`pulumi self-update`, `brew upgrade pulumi`, or the installer) and rerun.",
        )


# --- the stack ----------------------------------------------------------------------------------


class PulumiWorkspace:
    """One stack of the Pulumi project in ``work_dir``; implements :class:`StackPort`. Build it with :meth:`open`."""

    def __init__(self, stack: auto.Stack, *, backend: str) -> None:
        self._stack = stack
        self._backend = backend
        self._plan: Path | None = None  # the update plan of the last preview, for the next up

    @classmethod
    def open(
        cls,
        *,
        stack: str,
        work_dir: Path,
        create: bool = False,
        env: Mapping[str, str] | None = None,
        command: auto.PulumiCommand | None = None,
    ) -> PulumiWorkspace:
        """Select stack ``stack`` of the project in ``work_dir`` (create it when ``create``).

        ``env`` is added to every Pulumi command's environment (e.g. ``PULUMI_BACKEND_URL``,
        ``PULUMI_CONFIG_PASSPHRASE``); ``command`` replaces the CLI found on this machine.
        """
        work_dir = Path(work_dir)
        if not any((work_dir / f"Pulumi.{ext}").is_file() for ext in ("yaml", "yml", "json")):
            raise BadInputError(
                f"{work_dir} has no Pulumi.yaml, so it is not a Pulumi project.",
                hint="Pass --work-dir pointing at the table-migration repository (the folder with Pulumi.yaml).",
            )
        env_vars = {"PULUMI_SKIP_UPDATE_CHECK": "true", **(env or {})}
        backend = (
            env_vars.get("PULUMI_BACKEND_URL") or os.environ.get("PULUMI_BACKEND_URL") or "the `pulumi login` backend"
        )
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            env_vars=env_vars,
            pulumi_command=command or pulumi_command(env_vars),
        )
        init = auto.create_or_select_stack if create else auto.select_stack
        with pulumi_errors("select the stack", stack=stack, backend=backend):
            selected = init(stack_name=stack, work_dir=str(work_dir), opts=opts)
        return cls(selected, backend=backend)

    @property
    def name(self) -> str:
        """The stack name, as given to :meth:`open`."""
        return self._stack.name

    @property
    def project(self) -> str:
        """The project's name, from ``Pulumi.yaml`` in the work dir."""
        return str(self._stack.workspace.project_settings().name)

    def get_config(self) -> dict[str, Any]:
        """Config keys without the ``table-migration:`` prefix, plus ``aws:region``; objects decoded from JSON."""
        with self._errors("read the stack config"):
            values = self._stack.get_all_config()
        return decode_config({k: v.value for k, v in values.items()})

    def set_config(self, values: Mapping[str, Any]) -> None:
        """Write short keys (``stage``, ``importSource``…) in one command; dicts and lists as YAML maps and lists."""
        if not values:
            return
        self._drop_plan()  # a plan holds the config it was made with
        with self._errors("write the stack config"):
            self._stack.workspace.cli_api.config_set_all(
                json=set_all_json(values), stack=self.name, **self._cli_kwargs()
            )

    def remove_config(self, keys: Iterable[str]) -> None:
        """Remove short keys from the stack config (absent keys are fine)."""
        full = [full_key(k) for k in keys]
        if not full:
            return
        self._drop_plan()
        with self._errors("remove stack config"):
            self._stack.remove_all_config(full)

    def preview(self, config: Mapping[str, Any] | None = None) -> Preview:
        """Preview an update; every non-``same`` resource step becomes a :class:`PlannedChange`.

        With ``config`` (short keys, e.g. ``{"stage": "3"}``) the preview runs on a temporary copy of the
        stack file holding those values (``--config-file``): ``Pulumi.<stack>.yaml`` is never written.
        Without it, and where the CLI supports update plans, the preview saves a plan that the next
        :meth:`up` is held to (``up --plan``): the engine then refuses any step the preview did not show.
        """
        self._drop_plan()
        collector = PreviewCollector()
        with self._errors("preview"), self._config_copy(config) as config_file:
            plan = self._plan_path() if config_file is None else None
            try:
                result = self._stack.preview(
                    on_event=collector, color="never", config_file=config_file, plan=str(plan) if plan else None
                )
            except RuntimeError as e:
                # The SDK raises a builtin RuntimeError (not a CommandError) when no summary event came.
                raise PulumiError(
                    f"The preview of stack {self.name} ended without a result ({e}).",
                    hint="Rerun; if it persists, run `pulumi preview --stack " + self.name + "` to see the output.",
                ) from e
        self._plan = plan
        return collector.preview(counts=result.change_summary)

    def up(self, on_output: Progress | None = None) -> dict[str, Any]:
        """Run the update, streaming its output lines to ``on_output``; return the outputs after it.

        Held to the plan of the preview just before it, when there is one (see :meth:`preview`).
        """
        plan, self._plan = self._plan, None
        try:
            with self._errors("update"):
                result = self._stack.up(
                    on_output=on_output, color="never", suppress_progress=True, plan=str(plan) if plan else None
                )
        finally:
            if plan is not None:
                shutil.rmtree(plan.parent, ignore_errors=True)
        return {k: v.value for k, v in result.outputs.items()}

    def supports_update_plans(self) -> bool:
        """True when the CLI's update plans are out of preview (``preview --save-plan`` / ``up --plan``)
        and :data:`UPDATE_PLANS_ENV` does not turn them off."""
        if os.environ.get(UPDATE_PLANS_ENV, "").strip().lower() in ("off", "0", "false", "no"):
            return False
        version = self._stack.workspace.pulumi_command.version
        return version is not None and (version.major, version.minor, version.patch) >= UPDATE_PLANS_SINCE

    def _plan_path(self) -> Path | None:
        if not self.supports_update_plans():
            return None
        # A private folder: a plan holds the stack's inputs (secrets stay encrypted in it).
        return Path(tempfile.mkdtemp(prefix="table-migration-plan-")) / "plan.json"

    def _drop_plan(self) -> None:
        plan, self._plan = self._plan, None
        if plan is not None:
            shutil.rmtree(plan.parent, ignore_errors=True)

    @contextmanager
    def _config_copy(self, values: Mapping[str, Any] | None) -> Iterator[str | None]:
        """A temporary copy of the stack file with ``values`` set in it; None when there are no values."""
        if not values:
            yield None
            return
        workspace = self._stack.workspace
        folder = Path(tempfile.mkdtemp(prefix="table-migration-config-"))
        try:
            work_dir = Path(workspace.work_dir)
            settings = stack_settings_file(work_dir, self.name, project_config_dir(work_dir))
            copy = folder / (settings.name if settings else f"Pulumi.{settings_name(self.name)}.yaml")
            if settings is not None:
                shutil.copyfile(settings, copy)
            else:
                copy.write_text("config: {}\n", encoding="utf-8")
                values = {**self._config_not_in_a_file(), **values}
            workspace.cli_api.config_set_all(
                config_file=str(copy), json=set_all_json(values), stack=self.name, **self._cli_kwargs()
            )
            yield str(copy)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _config_not_in_a_file(self) -> dict[str, Any]:
        """The stack's config when no local stack file holds it (Pulumi ESC, config kept by the service).

        The preview's copy is then written from ``pulumi config --json``; a secret cannot be copied in
        plain text, so such a stack is refused rather than previewed without it.
        """
        with self._errors("read the stack config"):
            values = self._stack.get_all_config()
        secrets = sorted(k for k, v in values.items() if v.secret)
        if secrets:
            raise BadInputError(
                f"Stack {self.name} keeps its config outside a local stack file (Pulumi ESC or the service), with "
                f"secrets ({', '.join(secrets)}): a preview on a copy of its config cannot carry them.",
                hint=f"Write the stack file locally (`pulumi config --stack {self.name}` shows the values), or run "
                "`migrate up`, which previews on the stack itself.",
            )
        return {k: v.value for k, v in values.items()}

    def _cli_kwargs(self) -> dict[str, Any]:
        workspace = self._stack.workspace
        env = {**({"PULUMI_HOME": workspace.pulumi_home} if workspace.pulumi_home else {}), **workspace.env_vars}
        return {"cwd": workspace.work_dir, "additional_env": env}

    def outputs(self) -> dict[str, Any]:
        """The stack outputs of the last update (secrets in plain text)."""
        with self._errors("read the stack outputs"):
            values = self._stack.outputs()
        return {k: v.value for k, v in values.items()}

    def resources(self) -> list[StateResource]:
        """Every resource in the stack's state."""
        return state_resources(self._export())

    def pending_creates(self) -> list[PendingCreate]:
        """The creates an interrupted update left pending (the engine neither retries nor clears them)."""
        return pending_creates(self._export())

    def clear_pending_creates(self, urns: Iterable[str]) -> None:
        """Drop the pending creates of ``urns`` from the state (``stack export``, edit, ``stack import``).

        Only the pending operation goes: whatever the killed create made stays where it is, and the
        caller declares it for import (``import_``) when it exists, so the next update adopts it. A
        ``pulumi refresh --import-pending-creates`` would not: the engine keeps only *creating*
        operations in the snapshot, so the adopted resource ends in neither the state nor the list.
        """
        drop = set(urns)
        if not drop:
            return
        self._drop_plan()
        with self._errors("export the stack state"):
            exported = self._stack.export_stack()
        edited = without_pending(exported.deployment or {}, drop)
        with self._errors("import the stack state"):
            self._stack.import_stack(auto.Deployment(version=exported.version, deployment=edited))

    def interrupted_changes(self) -> list[str]:
        """The URNs of the resources an interrupted update was changing (its pending updates and deletes)."""
        return interrupted_changes(self._export())

    def refresh_resources(self, urns: Iterable[str]) -> None:
        """Re-read ``urns`` alone from AWS (``pulumi refresh --target``); nothing else is re-read.

        For what a killed update was changing: the state still has it as before, while AWS may have the
        change already (a stream enabled); the next update would apply it again, and AWS refuses some
        changes twice ("Cannot enable stream"). Pulumi advises a refresh for pending operations.
        """
        targets = list(urns)
        if targets:
            self._drop_plan()
            with self._errors("refresh the resources an interrupted update was changing"):
                self._stack.refresh(target=targets, color="never", suppress_progress=True)

    def cancel_update(self) -> None:
        """``pulumi cancel``: end the update the backend still counts as running (and drop its lock).

        Only for an update whose process is provably gone (the caller checks): cancelling a live update
        would leave its resources half made.
        """
        with self._errors("cancel the update"):
            self._stack.cancel()

    def _export(self) -> Mapping[str, Any]:
        with self._errors("export the stack state"):
            deployment = self._stack.export_stack()
        return deployment.deployment or {}

    def _errors(self, action: str) -> Any:
        return pulumi_errors(action, stack=self.name, backend=self._backend)


# --- engine events (pure) -----------------------------------------------------------------------


def planned_change(event: EngineEvent) -> PlannedChange | None:
    """The :class:`PlannedChange` of a ``resourcePreEvent``; None for other events and ``same`` steps."""
    pre = event.resource_pre_event
    if pre is None:
        return None
    meta = pre.metadata
    op = getattr(meta.op, "value", meta.op)
    if op == "same":
        return None
    old, new = meta.old, meta.new
    physical = (old.id if old and old.id else None) or _input_name(new)
    return PlannedChange(
        urn=meta.urn,
        type=meta.type,
        name=urn_name(meta.urn),
        op=str(op),
        retain_on_delete=bool(old is not None and old.retain_on_delete),
        physical_id=physical,
        replace_keys=tuple(meta.keys or ()),
        diffs=tuple(meta.diffs or ()),
    )


def _input_name(state: Any) -> str | None:
    inputs = getattr(state, "inputs", None) or {}
    name = inputs.get("name")
    return name if isinstance(name, str) else None


class PreviewCollector:
    """``on_event`` callback for a preview: keeps each resource step once, in order, and every URN stepped over."""

    def __init__(self) -> None:
        self._changes: list[PlannedChange] = []
        self._seen: set[tuple[str, str]] = set()
        self._urns: dict[str, None] = {}  # every resource the program declares (``same`` steps included)

    def __call__(self, event: EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and pre.metadata.urn:
            self._urns.setdefault(pre.metadata.urn)
        change = planned_change(event)
        if change is not None and (change.urn, change.op) not in self._seen:
            self._seen.add((change.urn, change.op))
            self._changes.append(change)

    def preview(self, *, counts: Mapping[Any, int] | None = None) -> Preview:
        """The collected :class:`Preview`; ``counts`` is the engine's summary (op → count)."""
        plain = {str(getattr(op, "value", op)): int(n) for op, n in (counts or {}).items()}
        return Preview(changes=tuple(self._changes), counts=plain, resources=tuple(self._urns))


# --- errors -------------------------------------------------------------------------------------

_CONFIG_LINE = re.compile(r"\berror:\s*(Config \S+: .+)")


@contextmanager
def pulumi_errors(action: str, *, stack: str, backend: str = "the selected backend") -> Iterator[None]:
    """Turn the Automation API's errors raised inside into ours (``action``: "preview", "update"…)."""
    try:
        yield
    except auto.StackNotFoundError as e:
        raise StackNotFoundError(
            f"Stack {stack!r} does not exist in {backend}.",
            hint=f"Create it with `pulumi stack init {stack}` in the project folder, pass --stack with an existing "
            "stack, or check PULUMI_BACKEND_URL / `pulumi login`.",
            code="StackNotFoundError",
        ) from e
    except auto.ConcurrentUpdateError as e:
        holders = engine_locks(str(e))
        who = f" ({', '.join(h.describe() for h in holders)})" if holders else ""
        raise StackBusyError(
            f"Cannot {action} stack {stack}: another update holds it{who}.",
            hint="Wait for it to finish and rerun. If that process is gone (killed, a stopped CI runner), rerun "
            "`migrate up` on the machine it ran on: it cancels its own dead update and adopts what it made. "
            f"Otherwise `pulumi cancel --stack {stack}` ends it, then `migrate up` adopts the migration's table "
            "it may have left half made.",
            code="ConcurrentUpdateError",
            holders=holders,
        ) from e
    except auto.CommandError as e:
        _raise_command_error(action, stack, e)
    except FileNotFoundError as e:
        if str(e.filename or "").endswith("pulumi"):
            raise PulumiNotInstalledError(f"The `pulumi` CLI is gone ({e.filename}).", hint=INSTALL_HINT) from e
        raise


def _raise_command_error(action: str, stack: str, error: auto.CommandError) -> NoReturn:
    stdout, stderr = command_output(error)
    text = stdout + "\n" + stderr
    if "PULUMI_CONFIG_PASSPHRASE" in text or "incorrect passphrase" in text:
        raise BadInputError(
            f"Cannot {action} stack {stack}: its secrets use a passphrase, and the right one is not set.",
            hint="Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase "
            "(an empty one is allowed for a throwaway local backend).",
            code="Passphrase",
        ) from error
    if "PULUMI_ACCESS_TOKEN must be set" in text:
        raise BadInputError(
            f"Cannot {action} stack {stack}: not logged in to a Pulumi backend.",
            hint="Run `pulumi login` (Pulumi Cloud, or `pulumi login file://…`/`s3://…`), or set PULUMI_ACCESS_TOKEN "
            "or PULUMI_BACKEND_URL.",
            code="NotLoggedIn",
        ) from error
    config = _CONFIG_LINE.search(stdout)
    if config:
        raise ConfigError(_config_key(config.group(1)), _config_problem(config.group(1)), hint="") from error
    # The engine's diagnostics name each resource and its reason, as `pulumi up` shows them; the
    # command may be gone by the time someone reads this (the demo's project is a temp folder).
    lines = diagnostics(stdout) or error_lines(stdout, stderr)
    detail = ": " + " | ".join(lines) if lines else "."
    if "pending operations" in text or "pending_operations" in text:
        # Not the engine's advice (an interactive `pulumi refresh`): its "import" answer only retypes the
        # pending create, which the snapshot then drops, so the resource ends in neither state nor list.
        hint = (
            f"An earlier update was interrupted while creating resources. `migrate up` adopts the migration's own "
            f"table. For anything else, check in AWS whether it was made, run `pulumi refresh --stack {stack} "
            "--clear-pending-creates` (it drops the pending creates from the state, never from AWS), declare each "
            "one that was made with the `import` resource option (its id), then rerun; answering 'import' in an "
            "interactive `pulumi refresh` adopts nothing."
        )
    elif action == "update":
        hint = (
            f"The stack may be partly updated; fix the cause and rerun (every step is safe to rerun). "
            f"Full output: `pulumi up --stack {stack}`."
        )
    else:
        hint = f"Fix the cause and rerun; `pulumi {_cli_verb(action)} --stack {stack}` shows the full output."
    raise PulumiError(
        f"Pulumi could not {action} stack {stack}{detail}", hint=hint, code=type(error).__name__
    ) from error


def command_output(error: auto.CommandError) -> tuple[str, str]:
    """``(stdout, stderr)`` of a failed command; the SDK keeps them only in the error's text."""
    text = str(error)
    head, sep, stderr = text.rpartition("\n stderr: ")
    if not sep:
        return "", text
    _, sep, stdout = head.partition("\n stdout: ")
    return (stdout if sep else ""), stderr


def _config_key(text: str) -> str:
    return text.split(" ", 2)[1].rstrip(":")


def _config_problem(text: str) -> str:
    return text.split(": ", 1)[1] if ": " in text else text


def _cli_verb(action: str) -> str:
    if action == "preview":
        return "preview"
    if "config" in action:
        return "config"
    if "output" in action:
        return "stack output"
    return "stack"
