"""Fixtures of the real-engine tier: the Pulumi CLI from PATH, the project's aws plugin, one moto server.

Without the ``pulumi`` CLI on PATH every test here is skipped, with the reason. The session builds
the plugin (``tests/real_engine/plugin``), installs it into a private ``PULUMI_HOME``, and starts a
moto server on 127.0.0.1 and a free port; ``real_engine`` yields a :class:`RealEngine` with the
environment ``pulumi`` runs in (``.env``), clients for moto (``.client("dynamodb")``) and
``.project(name, source)`` to write a program and get its stack.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.real_engine.helpers import (
    RealEngine,
    engine_env,
    find_pulumi,
    install_plugin,
    missing_cli_reason,
    moto_server,
)


@pytest.fixture(scope="session")
def pulumi_cli() -> str:
    """The ``pulumi`` executable on PATH; skips the test when there is none."""
    found = find_pulumi()
    if found is None:
        pytest.skip(missing_cli_reason())
    return found


@pytest.fixture(scope="session")
def real_engine(pulumi_cli: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealEngine]:
    """The plugin installed in a private home, a file backend, and a moto server for the session."""
    base = tmp_path_factory.mktemp("real-engine")
    home, backend, projects = base / "pulumi-home", base / "backend", base / "projects"
    for folder in (home, backend, projects):
        folder.mkdir()
    with moto_server() as endpoint:
        env = engine_env(pulumi_cli, home, backend, endpoint)
        install_plugin(pulumi_cli, env, base / "dist")
        yield RealEngine(pulumi_cli, env, endpoint, home, projects)
