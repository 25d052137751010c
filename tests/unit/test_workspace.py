"""The Pulumi workspace adapter against a recording ``PulumiCommand``: argv, config, outputs, errors.

No ``pulumi`` binary runs: :class:`RecordingCommand` records every argv the Automation API would run
and answers from canned ``CommandResult``s; a non-zero code goes through the SDK's own
``create_command_error``, exactly as a real failed command would.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation.errors import create_command_error
from semver import VersionInfo

from migrator.core.config import parse_config
from migrator.core.errors import (
    BadInputError,
    ConfigError,
    PulumiError,
    PulumiNotInstalledError,
    StackBusyError,
    StackNotFoundError,
)
from migrator.core.ports import StackPort
from migrator.engine.workspace import (
    PulumiWorkspace,
    cli_root,
    command_output,
    diagnostics,
    error_lines,
    find_pulumi_cli,
    install_pulumi_cli,
    pulumi_command,
)

Handler = Callable[[list[str]], CommandResult]
STACK = "dev"
LEGACY_URN = "urn:pulumi:dev::table-migration::table-migration:index:MigratingTable$aws:dynamodb/table:Table::legacy"


class RecordingCommand(PulumiCommand):
    """A PulumiCommand that runs nothing: it records each call and answers from canned replies.

    ``version`` picks how the SDK receives engine events: above 3.205 over gRPC, else through a file.
    """

    def __init__(self, version: str = "3.272.0") -> None:
        # No super().__init__(): it would run `pulumi version`.
        self.command = "pulumi"
        self.version = VersionInfo.parse(version)
        self.calls: list[list[str]] = []
        self.envs: list[dict[str, str]] = []
        self.cwds: list[str] = []
        self._replies: list[tuple[tuple[str, ...], Handler]] = []
        self.reply("stack", "select")

    def reply(
        self, *prefix: str, stdout: str = "", stderr: str = "", code: int = 0, handler: Handler | None = None
    ) -> None:
        """Answer commands starting with ``prefix``; the latest matching reply wins."""
        result = CommandResult(stdout=stdout, stderr=stderr, code=code)
        self._replies.insert(0, (prefix, handler or (lambda _argv: result)))

    def fail(self, *prefix: str, stderr: str, stdout: str = "", code: int = 255) -> None:
        self.reply(*prefix, stdout=stdout, stderr=stderr, code=code)

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Any,
        on_output: Callable[[str], Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> CommandResult:
        argv = list(args)
        self.calls.append(argv)
        self.envs.append(dict(additional_env))
        self.cwds.append(cwd)
        for prefix, handler in self._replies:
            if tuple(argv[: len(prefix)]) == prefix:
                result = handler(argv)
                break
        else:
            raise AssertionError(f"unexpected command: pulumi {' '.join(argv)}")
        if on_output:
            for line in result.stdout.splitlines():
                on_output(line)
        if result.code != 0:
            raise create_command_error(result)
        return result

    def find(self, *prefix: str) -> list[list[str]]:
        return [c for c in self.calls if tuple(c[: len(prefix)]) == prefix]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    return tmp_path


@pytest.fixture
def command() -> RecordingCommand:
    return RecordingCommand()


@pytest.fixture
def ws(project: Path, command: RecordingCommand) -> Iterator[PulumiWorkspace]:
    yield PulumiWorkspace.open(stack=STACK, work_dir=project, command=command)


# --- opening a stack ----------------------------------------------------------------------------


def test_open_selects_the_stack_in_the_work_dir_with_the_given_env(project: Path, command: RecordingCommand) -> None:
    ws = PulumiWorkspace.open(
        stack=STACK, work_dir=project, command=command, env={"PULUMI_BACKEND_URL": "file:///tmp/state"}
    )

    assert ws.name == STACK
    assert isinstance(ws, StackPort)
    assert command.calls == [["stack", "select", "--stack", STACK]]
    assert command.cwds == [str(project)]
    assert command.envs[0]["PULUMI_BACKEND_URL"] == "file:///tmp/state"
    assert command.envs[0]["PULUMI_SKIP_UPDATE_CHECK"] == "true"


def test_open_with_create_inits_a_missing_stack(project: Path, command: RecordingCommand) -> None:
    command.fail("stack", "select", stderr="error: no stack named 'dev' found")
    command.reply("stack", "init")

    PulumiWorkspace.open(stack=STACK, work_dir=project, command=command, create=True)

    assert command.calls == [["stack", "select", "--stack", STACK], ["stack", "init", STACK]]


def test_open_without_create_maps_a_missing_stack_to_ours(project: Path, command: RecordingCommand) -> None:
    command.fail("stack", "select", stderr="error: no stack named 'dev' found")

    with pytest.raises(StackNotFoundError) as caught:
        PulumiWorkspace.open(stack=STACK, work_dir=project, command=command, env={"PULUMI_BACKEND_URL": "file:///s"})

    assert caught.value.exit_code == 2
    assert "Stack 'dev' does not exist in file:///s" in str(caught.value)
    assert "`pulumi stack init dev`" in caught.value.hint and "--stack" in caught.value.hint
    assert not command.find("stack", "init")


def test_open_refuses_a_folder_without_a_pulumi_project(tmp_path: Path, command: RecordingCommand) -> None:
    with pytest.raises(BadInputError, match="no Pulumi.yaml"):
        PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)

    assert command.calls == []


# --- finding the CLI ----------------------------------------------------------------------------


@pytest.fixture
def no_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment where no `pulumi` can be found: empty PATH folder, empty HOME."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    return home


def test_a_missing_cli_says_how_to_get_it(project: Path, no_cli: Path) -> None:
    with pytest.raises(PulumiNotInstalledError) as caught:
        PulumiWorkspace.open(stack=STACK, work_dir=project)

    text = str(caught.value)
    assert caught.value.exit_code == 2
    assert "curl -fsSL https://get.pulumi.com | sh" in text
    assert "brew install pulumi" in text
    assert "PulumiCommand.install()" in text


def test_the_cli_is_found_under_the_pulumi_home_bin(no_cli: Path) -> None:
    binary = no_cli / ".pulumi" / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)

    assert find_pulumi_cli() == binary
    assert find_pulumi_cli({"PATH": "", "HOME": str(no_cli / "elsewhere")}) is None


def test_the_cli_on_path_comes_first(no_cli: Path, tmp_path: Path) -> None:
    on_path = tmp_path / "tools" / "bin" / "pulumi"
    on_path.parent.mkdir(parents=True)
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    (no_cli / ".pulumi" / "bin").mkdir(parents=True)
    (no_cli / ".pulumi" / "bin" / "pulumi").write_text("#!/bin/sh\n")

    assert find_pulumi_cli({"PATH": str(on_path.parent), "HOME": str(no_cli)}) == on_path


def _stub_cli(path: Path) -> Path:
    """An executable at ``path`` that answers ``pulumi version`` like the CLI does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho v3.272.0\n")
    path.chmod(0o755)
    return path


def _link(link: Path, target: Path) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return link


# Each layout: (the folder put on PATH, how to build it under tmp) -> what PulumiCommand must run.
CLI_LAYOUTS = {
    # get.pulumi.com's tarball unpacked: its folder is `pulumi/`, not `bin/`.
    "tarball-folder-on-path": lambda t: (_stub_cli(t / "opt" / "pulumi" / "pulumi").parent, "pulumi"),
    # asdf: a shell-script shim in ~/.asdf/shims.
    "asdf-shim": lambda t: (_stub_cli(t / ".asdf" / "shims" / "pulumi").parent, "pulumi"),
    # mise: shims are symlinks to the mise binary itself, which dispatches on its name.
    "mise-shim": lambda t: (
        _link(t / "mise" / "shims" / "pulumi", _stub_cli(t / "mise" / "bin" / "mise")).parent,
        "pulumi",
    ),
    # Homebrew: bin/pulumi links into the Cellar, where the language plugins sit next to the binary.
    "homebrew-symlink": lambda t: (
        _link(
            t / "brew" / "bin" / "pulumi", _stub_cli(t / "brew" / "Cellar" / "pulumi" / "3.272.0" / "bin" / "pulumi")
        ).parent,
        "brew/Cellar/pulumi/3.272.0/bin/pulumi",
    ),
    "plain-bin-folder": lambda t: (_stub_cli(t / "tools" / "bin" / "pulumi").parent, "tools/bin/pulumi"),
}


@pytest.mark.parametrize("layout", sorted(CLI_LAYOUTS))
def test_the_cli_lookup_runs_the_cli_outside_a_bin_folder(
    layout: str, no_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a `pulumi` on PATH in this layout (a stub that answers `pulumi version`)
    folder, runs = CLI_LAYOUTS[layout](tmp_path)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")

    # when the workspace builds its PulumiCommand
    command = pulumi_command()

    # then it runs: `pulumi` from PATH where the CLI is not `…/bin/pulumi`, else that very binary.
    assert command.command == (runs if runs == "pulumi" else str(tmp_path.resolve() / runs))
    assert str(command.version) == "3.272.0"


def test_the_cli_under_the_pulumi_home_runs_with_that_root(no_cli: Path) -> None:
    binary = _stub_cli(no_cli / ".pulumi" / "bin" / "pulumi")

    assert cli_root(binary) == no_cli / ".pulumi"
    assert pulumi_command().command == str(binary)


def test_install_without_network_is_our_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given: the SDK's installer cannot reach get.pulumi.com (stubbed: tests never download)
    def offline(cls: type, root: str | None = None, version: object = None, skip_version_check: bool = False) -> None:
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(PulumiCommand, "install", classmethod(offline))

    with pytest.raises(PulumiNotInstalledError) as caught:
        install_pulumi_cli(tmp_path / "pulumi")

    assert "Could not install the Pulumi CLI" in str(caught.value)
    assert "pulumi.com/docs/install" in caught.value.hint


def test_a_cli_older_than_the_sdk_supports_is_refused_with_the_hint(project: Path, no_cli: Path) -> None:
    # given: a stand-in executable that reports a 2.x version (the SDK needs 3.x)
    binary = no_cli / ".pulumi" / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho v2.0.0\n")
    binary.chmod(0o755)

    with pytest.raises(PulumiNotInstalledError) as caught:
        PulumiWorkspace.open(stack=STACK, work_dir=project)

    assert "cannot be used" in str(caught.value)
    assert "get.pulumi.com" in caught.value.hint


# --- config -------------------------------------------------------------------------------------


def test_get_config_strips_the_namespace_keeps_the_region_and_decodes_objects(
    ws: PulumiWorkspace, command: RecordingCommand
) -> None:
    legacy = {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}}
    command.reply(
        "config",
        stdout=json.dumps(
            {
                "aws:region": {"value": "eu-west-1", "secret": False},
                "aws:profile": {"value": "ops", "secret": False},
                "table-migration:stage": {"value": "1", "secret": False},
                "table-migration:legacyTable": {"value": json.dumps(legacy), "objectValue": legacy, "secret": False},
                "table-migration:exportBucket": {"value": "my-bucket", "secret": False},
            }
        ),
    )

    values = ws.get_config()

    assert command.calls[-1] == ["config", "--show-secrets", "--json", "--stack", STACK]
    assert values == {"aws:region": "eu-west-1", "stage": "1", "legacyTable": legacy, "exportBucket": "my-bucket"}


def test_set_config_writes_objects_as_yaml_maps_in_one_command(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("config", "set-all")

    ws.set_config({"stage": 2, "importSource": {"bucket": "b", "keyPrefix": "p/data/"}, "aws:region": "us-east-1"})

    (call,) = command.find("config", "set-all")
    assert call[:2] == ["config", "set-all"] and call[call.index("--stack") + 1] == STACK
    # one --json argument in the format `pulumi config --json` prints: an object carries its objectValue,
    # which the CLI writes into the stack file as a YAML map
    payload = json.loads(call[call.index("--json") + 1])
    assert payload == {
        "table-migration:stage": {"value": "2", "secret": False},
        "table-migration:importSource": {
            "value": '{"bucket":"b","keyPrefix":"p/data/"}',
            "objectValue": {"bucket": "b", "keyPrefix": "p/data/"},
            "secret": False,
        },
        "aws:region": {"value": "us-east-1", "secret": False},
    }
    assert "--plaintext" not in call


def test_remove_config_removes_the_full_keys(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("config", "rm-all")

    ws.remove_config(["importSource", "endpoint"])
    ws.remove_config([])

    assert command.find("config", "rm-all") == [
        ["config", "rm-all", "--stack", STACK, "table-migration:importSource", "table-migration:endpoint"]
    ]


def test_config_round_trips_through_the_cli_text(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    # given: a backend that stores whatever `config set-all` is given and shows it with `config --json`
    stored: dict[str, str] = {}

    def set_all(argv: list[str]) -> CommandResult:
        for name, entry in json.loads(argv[argv.index("--json") + 1]).items():
            stored[name] = entry["value"]
        return CommandResult("", "", 0)

    def show(_argv: list[str]) -> CommandResult:
        return CommandResult(json.dumps({k: {"value": v, "secret": False} for k, v in stored.items()}), "", 0)

    command.reply("config", handler=show)
    command.reply("config", "set-all", handler=set_all)
    values = {
        "stage": "2",
        "legacyTable": {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}},
        "newTable": {"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "S"}},
        "derive": {"UUID": "uuid5(Name)"},
        "importSource": {"bucket": "b", "keyPrefix": "t/data/", "compression": "GZIP", "itemCount": 3},
    }

    # when
    ws.set_config(values)
    back = ws.get_config()

    # then: the same values come back, and they parse as a stage-2 config
    assert back == values
    assert parse_config(back).import_source.item_count == 3


def test_none_is_not_a_config_value(ws: PulumiWorkspace) -> None:
    with pytest.raises(ValueError, match="remove_config"):
        ws.set_config({"endpoint": None})


# --- update, outputs, state ---------------------------------------------------------------------

HISTORY = json.dumps(
    [
        {
            "kind": "update",
            "startTime": "2026-11-26T19:00:00.000Z",
            "endTime": "2026-11-26T19:01:00.000Z",
            "message": "",
            "environment": {},
            "config": {},
            "result": "succeeded",
            "version": 4,
            "resourceChanges": {"create": 1, "same": 5},
        }
    ]
)
OUTPUTS = json.dumps({"stage": "2", "activeTableName": "MyTable", "newTableName": "MyNewTable"})


def test_up_streams_output_and_returns_plain_outputs(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("up", stdout="Updating (dev)\n + aws:dynamodb:Table new created\nResources: 1 created")
    command.reply("stack", "output", stdout=OUTPUTS)
    command.reply("stack", "history", stdout=HISTORY)
    lines: list[str] = []

    outputs = ws.up(on_output=lines.append)

    assert command.find("up") == [
        [
            "up",
            "--yes",
            "--skip-preview",
            "--color",
            "never",
            "--suppress-progress",
            "--exec-kind",
            "auto.local",
            "--stack",
            STACK,
        ]
    ]
    assert lines == ["Updating (dev)", " + aws:dynamodb:Table new created", "Resources: 1 created"]
    assert outputs == {"stage": "2", "activeTableName": "MyTable", "newTableName": "MyNewTable"}


def test_outputs_are_plain_values(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("stack", "output", stdout=OUTPUTS)

    assert ws.outputs()["newTableName"] == "MyNewTable"
    assert ["stack", "output", "--json", "--show-secrets", "--stack", STACK] in command.calls


def test_resources_come_from_the_exported_state(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    state = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:dev::table-migration::pulumi:pulumi:Stack::table-migration-dev",
                    "type": "pulumi:pulumi:Stack",
                    "custom": False,
                },
                {
                    "urn": LEGACY_URN,
                    "type": "aws:dynamodb/table:Table",
                    "id": "MyTable",
                    "custom": True,
                    "protect": True,
                    "retainOnDelete": True,
                },
            ]
        },
    }
    command.reply("stack", "export", stdout=json.dumps(state))

    resources = ws.resources()

    assert command.calls[-1] == ["stack", "export", "--show-secrets", "--stack", STACK]
    assert [(r.name, r.protect, r.retain_on_delete, r.physical_id) for r in resources] == [
        ("table-migration-dev", False, False, None),
        ("legacy", True, True, "MyTable"),
    ]
    assert resources[1].to_dict()["type"] == "aws:dynamodb/table:Table"


NEW_URN = "urn:pulumi:dev::table-migration::table-migration:index:MigratingTable$aws:dynamodb/table:Table::new"
INTERRUPTED = {
    "version": 3,
    "deployment": {
        "resources": [{"urn": LEGACY_URN, "type": "aws:dynamodb/table:Table", "id": "MyTable", "custom": True}],
        "pending_operations": [
            {
                "resource": {
                    "urn": NEW_URN,
                    "custom": True,
                    "type": "aws:dynamodb/table:Table",
                    "inputs": {"name": "MyNewTable", "hashKey": "UUID"},
                },
                "type": "creating",
            },
            {"resource": {"urn": LEGACY_URN, "type": "aws:dynamodb/table:Table"}, "type": "updating"},
        ],
    },
}


def test_pending_creates_come_from_the_exported_state(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("stack", "export", stdout=json.dumps(INTERRUPTED))

    (pending,) = ws.pending_creates()

    assert (pending.urn, pending.name, pending.physical_name) == (NEW_URN, "new", "MyNewTable")
    assert command.calls[-1] == ["stack", "export", "--show-secrets", "--stack", STACK]


def test_clearing_a_pending_create_edits_the_state_and_runs_no_refresh(
    ws: PulumiWorkspace, command: RecordingCommand, tmp_path: Path
) -> None:
    # given: a state whose pending operations are a create of the new table and an update of the legacy one
    command.reply("stack", "export", stdout=json.dumps(INTERRUPTED))
    imported: list[dict[str, Any]] = []

    def stack_import(argv: list[str]) -> CommandResult:
        imported.append(json.loads(Path(argv[argv.index("--file") + 1]).read_text()))
        return CommandResult("", "", 0)

    command.reply("stack", "import", handler=stack_import)

    # when the create is cleared
    ws.clear_pending_creates([NEW_URN])
    ws.clear_pending_creates([])  # nothing to clear: no command

    # then the imported state keeps its resources and the other pending operation, and no refresh ran
    (state,) = imported
    assert state["deployment"]["resources"] == INTERRUPTED["deployment"]["resources"]
    assert [op["resource"]["urn"] for op in state["deployment"]["pending_operations"]] == [LEGACY_URN]
    assert command.find("refresh") == [] and len(command.find("stack", "export")) == 1


def test_a_dead_update_is_cancelled_with_the_cli(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("cancel")

    ws.cancel_update()

    (cancel,) = command.find("cancel")
    assert STACK in cancel


def test_the_workspace_has_no_out_of_band_unprotect() -> None:
    # The program declares protect per stage; nothing runs `pulumi state unprotect`.
    assert not hasattr(PulumiWorkspace, "unprotect") and "unprotect" not in StackPort.__dict__


# --- errors -------------------------------------------------------------------------------------

LOCKED = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
    "the lock file with `pulumi cancel`.\n  file:///home/u/.pulumi/locks/organization/table-migration/dev/"
    "0b8a.json: created by u@host (pid 4242) at 2026-11-26T18:00:00Z"
)


@pytest.mark.parametrize(
    "stderr",
    [LOCKED, "error: [409] Conflict: Another update is currently in progress."],
    ids=["file-backend-lock", "pulumi-cloud-conflict"],
)
def test_a_locked_stack_is_busy_with_what_to_do(ws: PulumiWorkspace, command: RecordingCommand, stderr: str) -> None:
    command.fail("up", stderr=stderr)

    with pytest.raises(StackBusyError) as caught:
        ws.up()

    assert caught.value.exit_code == 1
    assert "another update holds it" in str(caught.value)
    assert "`pulumi cancel --stack dev`" in caught.value.hint and "`migrate up`" in caught.value.hint
    # a hand edit of the state would drop the pending create and orphan a half-made table: never advised
    assert "stack export" not in caught.value.hint and "stack import" not in caught.value.hint
    # the backend's lock file names its process (self-managed backends); Pulumi Cloud names none
    expected = ((4242, "host", "u"),) if stderr == LOCKED else ()
    assert tuple((h.pid, h.host, h.user) for h in caught.value.holders) == expected


def test_a_failed_update_names_the_provider_error_not_the_whole_dump(
    ws: PulumiWorkspace, command: RecordingCommand
) -> None:
    noise = "\n".join(f"    ~  aws:lambda:Function hello-world updating ({i}s)" for i in range(200))
    stdout = (
        f"Updating (dev)\n{noise}\n"
        " +  aws:dynamodb:Table new creating (0s) error: creating DynamoDB Table (MyNewTable): ResourceInUseException: "
        "Table already exists: MyNewTable\nDiagnostics:\n  aws:dynamodb:Table (new):\n"
        "    error: creating DynamoDB Table (MyNewTable): ResourceInUseException: Table already exists: MyNewTable\n"
        "  pulumi:pulumi:Stack (table-migration-dev):\n    error: update failed\n"
    )
    command.fail("up", stdout=stdout, stderr="")

    with pytest.raises(PulumiError) as caught:
        ws.up()

    text = str(caught.value)
    assert type(caught.value) is PulumiError
    assert (
        "Pulumi could not update stack dev: aws:dynamodb:Table (new): creating DynamoDB Table (MyNewTable): "
        "ResourceInUseException" in text
    )
    assert "hello-world updating" not in text
    assert "update failed" not in text
    assert len(text) < 700
    assert "safe to rerun" in caught.value.hint


def test_an_update_over_pending_creates_never_advises_an_interactive_refresh(
    ws: PulumiWorkspace, command: RecordingCommand
) -> None:
    # Given the engine's warning about a killed update's pending create, then Create failing again
    stdout = (
        "Updating (dev)\nDiagnostics:\n  pulumi:pulumi:Stack (table-migration-dev):\n"
        "    warning: Attempting to deploy or update resources with 1 pending operations from previous deployment.\n"
        "      * urn:pulumi:dev::table-migration::aws:dynamodb/table:Table::other, interrupted while creating\n"
        "    Note that `pulumi refresh` will need to be run interactively to clear pending CREATE operations.\n"
        "  aws:dynamodb:Table (other):\n"
        "    error: creating DynamoDB Table (Other): ResourceInUseException: Table already exists: Other\n"
    )
    command.fail("up", stdout=stdout, stderr="")

    with pytest.raises(PulumiError) as caught:
        ws.up()

    # then the hint clears pending creates and imports what was made: an interactive refresh's "import"
    # answer drops the resource from the state (tests/real_engine/test_contract_refresh.py shows it).
    hint = caught.value.hint
    assert "`pulumi refresh --stack dev --clear-pending-creates`" in hint and "`import` resource option" in hint
    assert "`migrate up`" in hint
    assert "in a terminal" not in hint and "asks what to do" not in hint


PROGRAM_FAILED = """Previewing update (demo):

    pulumi:pulumi:Stack table-migration-demo running
 +  aws:lambda:Function hello-world create error: failed to compute archive hash for "code"
Diagnostics:
  pulumi:pulumi:Stack (table-migration-demo):
    error: Program failed with an unhandled exception:
    Traceback (most recent call last):
      File "/tmp/migrate-demo-1/project/__main__.py", line 5, in <module>
        main()
      File "/tmp/migrate-demo-1/project/stacks/app.py", line 150, in main
        consumer = hello_world(config, table, provider)
    Exception: failed to register resource hello-world: archive hash of "code" could not be computed

    error: an unhandled error occurred: Program exited with non-zero exit code: 1

  aws:lambda:Function (hello-world):
    warning: a deprecated argument
    error: failed to compute archive hash for "code": open /tmp/migrate-demo-1/project/migrator/core/derive.py: \
no such file or directory

Resources:
    5 unchanged

Duration: 3s
"""


def test_engine_errors_keep_their_reason_with_the_resource(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    # Given a preview that fails in the program: the CLI's own lines say only that the program failed
    command.fail("preview", stdout=PROGRAM_FAILED, stderr="error: an unhandled error occurred: program failed:\n")

    with pytest.raises(PulumiError) as caught:
        ws.preview()

    # then the error names each resource and its reason, as `pulumi up` shows them, trimmed:
    text = str(caught.value)
    assert "Pulumi could not preview stack dev: " in text
    assert (
        'aws:lambda:Function (hello-world): failed to compute archive hash for "code": open '
        "/tmp/migrate-demo-1/project/migrator/core/derive.py: no such file or directory" in text
    )
    assert "pulumi:pulumi:Stack (table-migration-demo): Program failed with an unhandled exception: Exception: " in text
    # the traceback frames, the generic exit-code line and the warning are left out.
    assert "File " not in text and "non-zero exit code" not in text and "deprecated" not in text
    assert len(text) < 900


def test_a_long_diagnostic_is_trimmed() -> None:
    stdout = "Diagnostics:\n  aws:dynamodb:Table (new):\n    error: " + "x" * 2000 + "\n"

    (line,) = diagnostics(stdout)

    assert line.startswith("aws:dynamodb:Table (new): xxx") and line.endswith("…")
    assert len(line) < 340


def test_a_missing_passphrase_is_bad_input(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.fail(
        "config",
        stderr="error: getting secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
        "PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
    )

    with pytest.raises(BadInputError) as caught:
        ws.get_config()

    assert caught.value.exit_code == 2
    assert "PULUMI_CONFIG_PASSPHRASE" in caught.value.hint


def test_not_logged_in_is_bad_input(project: Path, command: RecordingCommand) -> None:
    command.fail(
        "stack", "select", stderr="error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
    )

    with pytest.raises(BadInputError) as caught:
        PulumiWorkspace.open(stack=STACK, work_dir=project, command=command)

    assert "pulumi login" in caught.value.hint and "PULUMI_BACKEND_URL" in caught.value.hint


def test_a_config_error_of_the_program_becomes_a_config_error(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    stdout = (
        "Previewing update (dev)\nDiagnostics:\n  pulumi:pulumi:Stack (table-migration-dev):\n"
        "    error: Config table-migration:newTable: is missing. Stages 1..4 need the new table: add newTable.\n"
    )
    command.fail("preview", stdout=stdout, stderr="")

    with pytest.raises(ConfigError) as caught:
        ws.preview()

    assert caught.value.key == "table-migration:newTable"
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith("Config table-migration:newTable: is missing.")


def test_command_output_splits_the_sdk_error_text() -> None:
    error = create_command_error(CommandResult(stdout="out 1\nout 2", stderr="err 1", code=255))

    assert command_output(error) == ("out 1\nout 2", "err 1")


def test_error_lines_fall_back_to_the_last_stderr_lines() -> None:
    assert error_lines("", "a\nb\n\nsomething broke\nexit status 2") == ["something broke", "exit status 2"]
    assert error_lines("error: update failed", "") == ["update failed"]


def test_the_resources_an_interrupted_update_was_changing_are_refreshed_alone(
    ws: PulumiWorkspace, command: RecordingCommand
) -> None:
    command.reply("stack", "export", stdout=json.dumps(INTERRUPTED))
    command.reply("refresh")
    command.reply("stack", "history", stdout=HISTORY)

    changing = ws.interrupted_changes()
    ws.refresh_resources(changing)
    ws.refresh_resources([])  # nothing to re-read: no command

    assert changing == [LEGACY_URN]  # the update, not the create
    (refresh,) = command.find("refresh")
    assert refresh[refresh.index("--target") + 1] == LEGACY_URN
    assert refresh.count("--target") == 1
