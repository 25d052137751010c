"""``migrate demo --no-install`` refuses early when the aws provider plugin is missing (migrator/demo/plugin_check.py).

A fake ``pulumi`` on PATH answers ``plugin ls --json`` with the plugins a test gives it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.demo import local
from migrator.engine.plugins import aws_plugin_version, has_resource_plugin
from tests.cli_result import exited

VERSION = aws_plugin_version()


def fake_cli(folder: Path, plugins: list[dict[str, Any]] | None, code: int = 0) -> Path:
    """A ``pulumi`` in ``folder`` that prints ``plugins`` for ``plugin ls --json`` (and exits ``code``)."""
    folder.mkdir(exist_ok=True)
    cli = folder / "pulumi"
    listing = json.dumps(plugins) if plugins is not None else "not json"
    cli.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'plugin ls' ] && echo '{listing}' && exit {code}\necho v3.274.0\n")
    cli.chmod(0o755)
    return cli


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty PATH but for the fake CLI's folder, and a temp folder to watch."""
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def aws(version: str | None) -> dict[str, Any]:
    return {"name": "aws", "kind": "resource", "version": version}


def test_the_version_is_the_one_the_installed_pulumi_aws_declares() -> None:
    from importlib import resources

    declared = json.loads(resources.files("pulumi_aws").joinpath("pulumi-plugin.json").read_text())["version"]
    assert declared.lstrip("v") == VERSION and VERSION


@pytest.mark.parametrize(
    ("plugins", "code", "expected"),
    [
        ([aws(VERSION)], 0, True),
        ([{"name": "aws", "kind": "resource", "version": f"v{VERSION}"}], 0, True),
        ([aws("6.0.0"), {"name": "aws", "kind": "language", "version": VERSION}], 0, False),
        ([], 0, False),
        (None, 0, None),  # not JSON: cannot tell
        ([], 1, None),  # the CLI failed: cannot tell
    ],
)
def test_the_plugin_lookup_reads_plugin_ls(tmp_path: Path, plugins: Any, code: int, expected: bool | None) -> None:
    cli = fake_cli(tmp_path / "bin", plugins, code)
    assert has_resource_plugin(cli, "aws", str(VERSION), {"PATH": str(tmp_path / "bin")}) is expected


def test_a_plugin_on_path_counts(tmp_path: Path) -> None:
    cli = fake_cli(tmp_path / "bin", [])
    plugin = tmp_path / "bin" / "pulumi-resource-aws"
    plugin.write_text("#!/bin/sh\n")
    plugin.chmod(0o755)
    assert has_resource_plugin(cli, "aws", str(VERSION), {"PATH": str(tmp_path / "bin")}) is True


def test_demo_no_install_without_the_aws_plugin_exits_2_naming_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scratch: Path
) -> None:
    # given a pulumi CLI without the aws plugin
    fake_cli(tmp_path / "bin", [{"name": "random", "kind": "resource", "version": "4.0.0"}])

    def no_server() -> Any:
        raise AssertionError("the demo started moto without the aws plugin")

    monkeypatch.setattr(local, "moto_server", no_server)
    # when the demo runs with --no-install
    result = exited(CliRunner().invoke(app, ["demo", "--items", "10", "--no-install"]), 2)
    # then it refuses before anything started, naming the command that installs the plugin
    assert f"`pulumi plugin install resource aws {VERSION}`" in result.stderr
    assert "Nothing was started" in result.stderr
    assert list(scratch.iterdir()) == []


def test_demo_with_installs_allowed_leaves_the_plugin_to_the_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scratch: Path
) -> None:
    # given a pulumi CLI without the aws plugin, and installs allowed
    fake_cli(tmp_path / "bin", [])
    started: list[bool] = []

    def stop_here() -> Any:
        started.append(True)
        raise local.BadInputError("stopped after the checks (test)")

    monkeypatch.setattr(local, "moto_server", stop_here)
    # when the demo runs: it goes on to start (the engine downloads the plugin itself)
    result = exited(CliRunner().invoke(app, ["demo", "--items", "10"]), 2)
    assert started == [True]
    assert "plugin install" not in result.stderr
