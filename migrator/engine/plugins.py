"""Whether the engine will find the aws provider plugin the installed ``pulumi_aws`` asks for.

The engine loads ``pulumi-resource-aws`` at the version ``pulumi_aws`` declares (its
``pulumi-plugin.json``), from ``$PULUMI_HOME/plugins`` (``pulumi plugin ls``) or from PATH; when it has
neither it downloads it at the first preview, which fails without network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from importlib import resources
from pathlib import Path


def aws_plugin_version() -> str | None:
    """The aws plugin version the installed ``pulumi_aws`` asks the engine for, or None when unknown."""
    try:
        text = resources.files("pulumi_aws").joinpath("pulumi-plugin.json").read_text()
        version = json.loads(text).get("version")
    except (ModuleNotFoundError, FileNotFoundError, ValueError, AttributeError):
        return None
    return str(version).lstrip("v") if version else None


def has_resource_plugin(
    cli: Path | str, name: str, version: str, environ: Mapping[str, str] | None = None
) -> bool | None:
    """True when the engine run by ``cli`` has resource plugin ``name`` at ``version`` (installed or on PATH).

    False when it has not; None when ``pulumi plugin ls`` cannot tell (then the engine decides).
    """
    env = dict(os.environ if environ is None else environ)
    if shutil.which(f"pulumi-resource-{name}", path=env.get("PATH", os.defpath)):
        return True
    try:
        done = subprocess.run(
            [str(cli), "plugin", "ls", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        listed = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(listed, list):
        return None
    return any(
        isinstance(p, dict)
        and p.get("kind") == "resource"
        and p.get("name") == name
        and str(p.get("version", "")).lstrip("v") == version
        for p in listed
    )
