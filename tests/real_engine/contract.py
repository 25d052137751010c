"""Two sides for the contract tests: the engine double and the real engine, behind one interface.

A contract test body takes a :class:`Side` and runs unchanged on both: ``side.stack`` is a
:class:`~migrator.core.ports.StackPort` (the double, :class:`tests.e2e.mock_engine.MockEngineStack`, or
the migrator's :class:`~migrator.engine.workspace.PulumiWorkspace` on the real CLI), ``side.write``
replaces the program, ``side.dynamodb`` reads the emulator the side's provider writes to, and
``side.killed_during_create`` kills an update while the provider creates a table (after AWS made it).

The ``side`` fixture of a contract module is built by :func:`side_fixture`: module-scoped and
parametrized over ``double`` and ``real``; only ``real`` is marked ``real_engine``, so the double's
case runs without a CLI. Each module shares one stack per side, and its tests run in order, each
checking the state the one before left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from pulumi import automation as auto

from migrator.core.errors import MigrationError
from migrator.core.ports import StackPort
from migrator.data.aws import AwsSettings
from migrator.engine.workspace import PulumiWorkspace
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks
from tests.real_engine.helpers import REGION, STACK, RealEngine

TABLE = "aws:dynamodb/table:Table"
SIDES = ["double", pytest.param("real", marks=pytest.mark.real_engine)]


class Killed(BaseException):
    """The double's update dies here (nothing on the way may handle it as an error)."""


@dataclass
class Side:
    """One engine (the double or the real one) with a stack of a program the test writes."""

    kind: str
    project: str  # the project's name: with ``kind``, the prefix of every AWS name the side's program gives
    stack: StackPort
    folder: Path
    dynamodb: Any
    _kill: Callable[[str], None]

    def write(self, source: str) -> None:
        """Replace the program with ``source`` (dedented), each ``@`` in it replaced by :meth:`physical`'s prefix."""
        (self.folder / "__main__.py").write_text(textwrap.dedent(source).replace("@", self.physical("")))

    def physical(self, name: str) -> str:
        """The side's AWS name for ``name``: both sides' moto servers run in this process and share its
        backends, and the real engine's serves every module, so each side and project names its tables apart."""
        return f"{self.kind.title()}-{self.project}-{name}"

    def killed_during_create(self, table: str) -> None:
        """Run an update that dies while the provider creates ``table`` (a physical name), after AWS made it."""
        self._kill(table)

    def tables(self) -> set[str]:
        """The tables in the side's emulator."""
        return set(self.dynamodb.list_tables()["TableNames"])

    def held(self) -> dict[str, tuple[str | None, bool, bool]]:
        """The state's resources by name: (physical id, protect, retainOnDelete); the engine's own (the
        stack, default providers), which the double does not keep, left out."""
        resources = [r for r in self.stack.resources() if not r.type.startswith("pulumi:")]
        return {r.name: (r.physical_id, r.protect, r.retain_on_delete) for r in resources}

    def summary(self, config: dict[str, Any] | None = None) -> dict[str, int]:
        """A preview's counts, without ``same`` and without the root stack's own create (the real engine
        counts it before a stack's first update; the double keeps no stack resource)."""
        preview = self.stack.preview(config)
        counts = dict(preview.counts)
        if any(c.type == "pulumi:pulumi:Stack" and c.op == "create" for c in preview.changes):
            counts["create"] -= 1
        return {op: n for op, n in counts.items() if op != "same" and n}


def error_text(error: MigrationError) -> str:
    """The whole message of an error, with the hint (where the CLI's refusal reason may sit)."""
    return f"{error.message} {error.hint}"


# --- the double --------------------------------------------------------------------------------


def double_side(folder: Path, endpoint: str, name: str, source: str) -> Side:
    """The engine double on a program folder (for project ``name``), applying to the moto server at ``endpoint``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    settings = AwsSettings(region=REGION, endpoint_url=endpoint)
    stack = MockEngineStack(STACK, {"aws:region": REGION}, program_under_mocks, work_dir=folder, settings=settings)

    def kill(table: str) -> None:
        real = stack._create_table

        def dies(name: str, inputs: Any) -> None:
            real(name, inputs)
            if name == table:
                raise Killed(f"the update died while creating {table}")

        stack._create_table = dies  # type: ignore[method-assign]
        try:
            stack.up()
        except Killed:
            pass
        else:
            raise AssertionError(f"the update never created {table}")
        finally:
            del stack._create_table

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    side = Side("double", name, stack, folder, dynamodb, kill)
    side.write(source)
    return side


# --- the real engine ---------------------------------------------------------------------------


def real_side(engine: RealEngine, name: str, source: str) -> Side:
    """A project ``name`` on the real CLI, its stack opened by the migrator's :class:`PulumiWorkspace`."""
    project = engine.project(name, source)
    command = auto.PulumiCommand(root=str(Path(engine.cli).resolve().parent.parent), skip_version_check=True)
    stack = PulumiWorkspace.open(stack=STACK, work_dir=project.folder, env=engine.env, command=command)

    def kill(table: str) -> None:
        with create_held(table) as made:
            update = subprocess.Popen(
                [engine.cli, "up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK],
                cwd=project.folder,
                env=engine.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                if not made.wait(timeout=120):
                    raise AssertionError(f"the update never created {table}")
            finally:
                os.killpg(update.pid, signal.SIGKILL)
                update.wait(timeout=30)

    side = Side("real", name, stack, project.folder, engine.client("dynamodb"), kill)
    side.write(source)
    return side


@contextmanager
def create_held(table: str) -> Iterator[threading.Event]:
    """moto's CreateTable of ``table`` makes the table, then answers only when the block ends.

    The moto server runs in this process, so the provider's call hangs here while the test kills the
    update: AWS made the table and the engine never heard back. The event is set once it is made.
    """
    from moto.dynamodb.models import DynamoDBBackend

    made, release = threading.Event(), threading.Event()
    real = DynamoDBBackend.create_table

    def held(self: Any, name: str, **params: Any) -> Any:
        result = real(self, name, **params)
        if name == table:
            made.set()
            release.wait(timeout=120)
        return result

    DynamoDBBackend.create_table = held  # type: ignore[method-assign]
    try:
        yield made
    finally:
        DynamoDBBackend.create_table = real  # type: ignore[method-assign]
        release.set()
        time.sleep(0.1)  # let the held request's thread finish before the next test's calls


def side_fixture(request: pytest.FixtureRequest, name: str, source: str) -> Side:
    """The side a module's parametrized ``side`` fixture asks for, on a project ``name`` running ``source``."""
    if request.param == "double":
        endpoint = request.getfixturevalue("moto_endpoint")
        folder = request.getfixturevalue("tmp_path_factory").mktemp(f"double-{name}")
        return double_side(folder, endpoint, name, source)
    return real_side(request.getfixturevalue("real_engine"), name, source)
