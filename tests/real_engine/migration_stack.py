"""A migration stack on the real engine, driven as a user drives it: ``migrate`` in a subprocess.

:class:`MigrationStack` writes the example program (the demo's, ``migrator/demo/project.py``) into a
folder, makes a stack with the demo's config pointed at the tier's moto server, and runs ``migrate``
commands in their own process group, so a test can ``kill -9`` the whole group (the CLI, the engine,
the language host and the plugin) the way a dying machine does. The plugin holds a step open on
request (``tests/real_engine/plugin/hold.py``) so the kill lands while the engine waits on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from migrator.demo.local import demo_config, seed_items
from migrator.demo.project import write_project
from migrator.engine.workspace import PulumiWorkspace
from tests.real_engine.helpers import RealEngine
from tests.real_engine.plugin.hold import HOLD_ENV, HOLD_FILE_ENV

MIGRATE = str(Path(sys.executable).with_name("migrate"))
LEGACY_AND_NEW = ("MyTable", "MyNewTable")  # the demo's tables


@dataclass
class Run:
    """A finished ``migrate`` command."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))

    def explain(self) -> str:
        # The migrator's own lines (stages, steps, recovery) tell more than the engine's output around them.
        own = [
            ln
            for ln in self.stderr.splitlines()
            if ln.startswith(("Stage", "  step", "  an ", "  the ", "Taking", "Preview"))
        ]
        own_text = "\n".join(own)[-4000:]
        return f"migrate {' '.join(self.args)} exited {self.code}:\n{own_text}\n--- stderr:\n{self.stderr[-3000:]}"


class MigrationStack:
    """Stack ``name`` of the example project in ``engine.root/name``, at stage 0's config."""

    def __init__(self, engine: RealEngine, name: str, items: int, tables: tuple[str, str] = LEGACY_AND_NEW) -> None:
        self.engine, self.name, self.items, self.tables = engine, name, items, tables
        self.folder = write_project(engine.root / name)
        self.lock_dir = engine.root / f"{name}-locks"
        self.workspace = PulumiWorkspace.open(stack=name, work_dir=self.folder, create=True, env=engine.env)
        config = demo_config(engine.endpoint)
        config["legacyTable"]["name"], config["newTable"]["name"] = tables
        self.workspace.set_config(config)

    @property
    def env(self) -> dict[str, str]:
        return {**self.engine.env, "TMPDIR": str(self.lock_dir)}

    def seed(self) -> None:
        """The legacy table's sample items (after stage 0 made the table)."""
        seed_items(self.engine.client("dynamodb"), self.tables[0], self.items)

    def start(
        self, *args: str, hold: str | None = None, marker: Path | None = None, pulumi: bool = False
    ) -> subprocess.Popen[str]:
        """``migrate ARGS --stack NAME --work-dir FOLDER`` in a new process group; the plugin holds ``hold``.

        With ``pulumi``, the ``pulumi`` CLI instead of ``migrate`` (a user's own update, in the folder).
        """
        env = self.env
        if hold:
            env.update({HOLD_ENV: hold, HOLD_FILE_ENV: str(marker)})
        self.lock_dir.mkdir(exist_ok=True)
        if pulumi:
            command = [self.engine.cli, *args, "--stack", self.name, "--cwd", str(self.folder), "--non-interactive"]
        else:
            command = [MIGRATE, *args, "--stack", self.name, "--work-dir", str(self.folder)]
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )

    def migrate(self, *args: str, timeout: float = 600) -> Run:
        """Run ``migrate ARGS`` to its end."""
        process = self.start(*args)
        stdout, stderr = process.communicate(timeout=timeout)
        return Run(args, process.returncode, stdout, stderr)

    def ok(self, *args: str) -> Run:
        """Run ``migrate ARGS``; fail the test unless it exits 0."""
        run = self.migrate(*args)
        assert run.code == 0, run.explain()
        return run

    def start_held(
        self, *args: str, hold: str, timeout: float = 300, pulumi: bool = False
    ) -> tuple[subprocess.Popen[str], str]:
        """Start ``migrate ARGS`` and wait until the plugin holds ``hold`` (applied in moto, not yet answered).

        Returns the run and what the plugin holds (``create aws:dynamodb/table:Table table-new``).
        """
        marker = self.engine.root / f"{self.name}-held"
        marker.unlink(missing_ok=True)
        process = self.start(*args, hold=hold, marker=marker, pulumi=pulumi)
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if process.poll() is not None:
                _, err = process.communicate()
                raise AssertionError(f"{' '.join(args)} ended ({process.returncode}) before {hold}:\n{err}")
            assert time.monotonic() < deadline, f"the plugin never held {hold}"
            time.sleep(0.2)
        return process, marker.read_text().strip()

    def kill(self, process: subprocess.Popen[str]) -> None:
        """``kill -9`` of the run's whole process group, as a dying machine does.

        The engine starts the language host in a process group of its own, so every descendant is
        killed too (a dying machine leaves none alive either).
        """
        descendants = psutil.Process(process.pid).children(recursive=True)
        os.killpg(process.pid, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        process.communicate(timeout=60)

    def export(self) -> dict[str, Any]:
        """The stack's state (``pulumi stack export``)."""
        done = self.engine.pulumi("stack", "export", "--stack", self.name, cwd=self.folder)
        return dict(json.loads(done.stdout))

    def resources(self) -> dict[str, dict[str, Any]]:
        """The state's resources by URN name."""
        return {r["urn"].rsplit("::", 1)[-1]: r for r in self.export()["deployment"].get("resources", [])}

    def pending(self) -> list[dict[str, Any]]:
        """The state's pending operations."""
        return list(self.export()["deployment"].get("pending_operations") or [])

    def table_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of ``table`` in moto (DynamoDB JSON)."""
        pages = self.engine.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]

    def stack_file(self) -> bytes:
        return (self.folder / f"Pulumi.{self.name}.yaml").read_bytes()
