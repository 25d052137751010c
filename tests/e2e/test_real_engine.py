"""The demo flow on the real Pulumi engine: `migrate demo` through stages 0→4.

It needs the ``pulumi`` CLI and its aws plugin, which only a machine with internet can install
(``pulumi.automation.PulumiCommand.install()``, then ``pulumi plugin install resource aws``).
Without them it is skipped, and says why; it never passes by doing nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.engine.workspace import find_pulumi_cli
from tests.e2e.conftest import both_identical

ROOT = Path(__file__).resolve().parents[2]
DEMO_ITEMS = 50


def missing_engine() -> str | None:
    """Why the real engine cannot run here, or None when the CLI and its aws plugin are present."""
    found = shutil.which("pulumi") or find_pulumi_cli()
    if found is None:
        return "the pulumi CLI is not installed (PulumiCommand.install() needs internet)"
    listed = subprocess.run([str(found), "plugin", "ls"], capture_output=True, text=True, timeout=60, check=False)
    if listed.returncode != 0:
        return f"`pulumi plugin ls` failed: {listed.stderr.strip()[:200]}"
    if not any(line.split()[:1] == ["aws"] for line in listed.stdout.splitlines()):
        return "the pulumi aws plugin is not installed (`pulumi plugin install resource aws` needs internet)"
    return None


@pytest.mark.real_engine
def test_demo_flow_runs_on_the_real_engine() -> None:
    reason = missing_engine()
    if reason is not None:
        print(f"real-engine test skipped: {reason}")
        pytest.skip(reason)

    # Given the real engine, when the demo runs stages 0→4 on 50 items
    script = Path(sys.executable).with_name("migrate")
    migrate = [str(script)] if script.is_file() else [sys.executable, "-c", "from migrator.cli import main; main()"]
    result = subprocess.run(
        [*migrate, "demo", "--items", str(DEMO_ITEMS)],
        cwd=ROOT,  # as the README runs it, from a clone
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )

    # then it succeeds, and its final report (stdout; progress goes to stderr) says that both
    # verifications, new table vs export and live legacy vs new, found the tables identical.
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert both_identical(result.stdout), result.stdout
    # and the new table has the demo's global index, as DescribeTable shows it after stage 4.
    assert "MyNewTable indexes: ByScore (global)" in result.stdout, result.stdout


def _fake_pulumi(folder: Path, plugins: str) -> None:
    script = folder / "pulumi"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' 'NAME  KIND  VERSION' {plugins}\n")
    script.chmod(0o755)


@pytest.mark.parametrize(
    ("plugins", "missing"),
    [("'aws   resource  7.51.0'", None), ("'random  resource  4.0.0'", "aws plugin")],
)
def test_the_engine_check_runs_the_demo_only_with_the_cli_and_its_aws_plugin(
    plugins: str, missing: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a `pulumi` on PATH whose `plugin ls` lists these plugins
    _fake_pulumi(tmp_path, plugins)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")

    # then the real-engine test runs only when the aws plugin is among them.
    reason = missing_engine()
    assert reason is None if missing is None else missing in (reason or "")
