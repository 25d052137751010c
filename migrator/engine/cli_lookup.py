"""Where the ``pulumi`` CLI is on this machine, and how the SDK must be told to run it. No SDK calls."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path


def find_pulumi_cli(environ: Mapping[str, str] | None = None) -> Path | None:
    """The ``pulumi`` executable: on PATH, else under ``$PULUMI_HOME/bin``, ``~/.pulumi/bin`` or where
    ``PulumiCommand.install()`` puts it (``~/.pulumi/versions/<sdk version>/bin``); None when absent.

    A PATH hit is returned as found (not resolved): a shim or a symlink is what the user runs.
    """
    env = os.environ if environ is None else environ
    found = shutil.which("pulumi", path=env.get("PATH", os.defpath))
    if found:
        return Path(found)
    home = Path(env.get("HOME") or Path.home())
    candidates = []
    if env.get("PULUMI_HOME"):
        candidates.append(Path(env["PULUMI_HOME"]) / "bin" / "pulumi")
    candidates.append(home / ".pulumi" / "bin" / "pulumi")
    candidates.append(default_install_root(env) / "bin" / "pulumi")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def cli_root(path: Path) -> Path | None:
    """The ``root`` to give ``PulumiCommand`` for the CLI at ``path``, or None to run ``pulumi`` from PATH.

    The SDK runs ``root/bin/pulumi``, so a root exists only for a CLI that really is ``…/bin/pulumi``:
    the real binary behind a symlink first (Homebrew links ``bin/pulumi`` into its Cellar, where the
    language plugins sit next to it), else the path itself. A tarball's ``pulumi/`` folder, a mise or
    asdf shim, or any other layout runs as ``pulumi`` from PATH, as the user's shell would.
    """
    real = path.resolve()
    if real.name == "pulumi" and real.parent.name == "bin":
        return real.parent.parent
    if path.name == "pulumi" and path.parent.name == "bin":
        return path.parent.parent
    return None


def _sdk_version() -> str:
    from pulumi._version import version

    return str(version)


def default_install_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``PulumiCommand.install()`` puts the CLI matching the SDK: ``~/.pulumi/versions/<sdk version>``."""
    env = os.environ if environ is None else environ
    return Path(env.get("HOME") or Path.home()) / ".pulumi" / "versions" / _sdk_version()
