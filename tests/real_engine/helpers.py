"""The real-engine tier's harness: the ``pulumi`` CLI on PATH, the project's aws plugin, a moto server.

:class:`RealEngine` holds what every test needs: the environment to run ``pulumi`` (a private
``PULUMI_HOME`` with the plugin installed, a file backend, a passphrase, moto as every AWS endpoint)
and clients for moto. :meth:`RealEngine.project` writes a small Pulumi Python program into a folder
and returns a :class:`Project` to run it (Automation API stacks, or the CLI for what that lacks).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from pulumi import automation as auto

from tests.real_engine.plugin.build import build
from tests.real_engine.plugin.server import plugin_version

REGION = "us-east-1"
PASSPHRASE = "real-engine-tier"
STACK = "test"


def find_pulumi() -> str | None:
    """The ``pulumi`` CLI on PATH (the only place this tier looks), or None."""
    return shutil.which("pulumi")


def missing_cli_reason() -> str:
    """Why the tier is skipped when there is no CLI."""
    return (
        "the real-engine tier needs the `pulumi` CLI on PATH (with its Python language host); "
        "install it (https://www.pulumi.com/docs/install/) or put its bin folder first on PATH"
    )


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in this process on 127.0.0.1 and a free port; yields its URL."""
    from moto.server import ThreadedMotoServer

    # One HTTP log line per AWS call would bury a failing test's output.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        access_log.setLevel(level)


def engine_env(cli: str, home: Path, backend: Path, endpoint: str) -> dict[str, str]:
    """The environment of every ``pulumi`` run: private home and backend, moto for every AWS call."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULUMI_"))}
    env.update(
        PATH=f"{Path(cli).parent}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=backend.as_uri(),
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def install_plugin(cli: str, env: dict[str, str], dist: Path) -> Path:
    """Build the plugin's tarball into ``dist`` and install it into ``env``'s ``PULUMI_HOME``."""
    tarball = build(dist)
    command = [cli, "plugin", "install", "resource", "aws", plugin_version(), "--file", str(tarball)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"installing the plugin failed: {done.stderr or done.stdout}")
    return tarball


@dataclass
class RealEngine:
    """The session's engine environment and moto server."""

    cli: str
    env: dict[str, str]
    endpoint: str
    home: Path
    root: Path  # where projects are written
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client for moto (streams need the account-less endpoint mode)."""
        if service not in self._clients:
            config = Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 1})
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=config,
            )
        return self._clients[service]

    def project(self, name: str, source: str, config: dict[str, str] | None = None) -> Project:
        """A project folder ``name`` running ``source`` (dedented), with a stack selected and configured."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Pulumi.yaml").write_text(project_yaml(name))
        project = Project(self, folder)
        project.write(source)
        for key, value in {"aws:region": REGION, **(config or {})}.items():
            project.stack.set_config(key, auto.ConfigValue(value))
        return project

    def pulumi(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the CLI in ``cwd`` with the tier's environment."""
        done = subprocess.run(
            [self.cli, *args, "--non-interactive"],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done


def project_yaml(name: str) -> str:
    """``Pulumi.yaml`` for a Python program run with this test run's own virtualenv."""
    venv = sys.prefix if sys.prefix != sys.base_prefix else None
    options = f"\n  options:\n    virtualenv: {json.dumps(venv)}" if venv else ""
    return f"name: {name}\nruntime:\n  name: python{options}\n"


class Project:
    """A program folder and its stack (Automation API, a local workspace in the tier's environment)."""

    def __init__(self, engine: RealEngine, folder: Path) -> None:
        self.engine = engine
        self.folder = folder
        root = Path(engine.cli).resolve().parent.parent
        command = auto.PulumiCommand(root=str(root), skip_version_check=True)
        options = auto.LocalWorkspaceOptions(env_vars=engine.env, pulumi_home=str(engine.home), pulumi_command=command)
        self.stack = auto.create_or_select_stack(stack_name=STACK, work_dir=str(folder), opts=options)

    def write(self, source: str) -> None:
        """Replace the program with ``source``."""
        (self.folder / "__main__.py").write_text(textwrap.dedent(source))

    def up(self, source: str | None = None) -> auto.UpResult:
        """Write ``source`` (if given) and update."""
        if source is not None:
            self.write(source)
        return self.stack.up()

    def preview(self, source: str | None = None) -> dict[str, int]:
        """Write ``source`` (if given) and preview; the change summary without ``same``."""
        if source is not None:
            self.write(source)
        summary = self.stack.preview(diff=True).change_summary
        return {op: n for op, n in summary.items() if op != "same" and n}

    def state(self) -> list[dict[str, Any]]:
        """The stack's resources as the state holds them."""
        return list(self.stack.export_stack().deployment.get("resources", []))

    def resource(self, type_: str, name: str) -> dict[str, Any] | None:
        """The state's entry for resource ``name`` of ``type_``, or None."""
        return next((r for r in self.state() if r["type"] == type_ and r["urn"].endswith(f"::{name}")), None)
