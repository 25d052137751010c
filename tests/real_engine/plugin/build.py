"""Package the plugin as the engine installs one: a tarball holding an executable ``pulumi-resource-aws``.

The executable is a shell shim that runs this package with the Python that builds it (the test
venv, which has boto3, grpc and the pulumi SDK), with the repository first on ``PYTHONPATH``. Install
it with ``pulumi plugin install resource aws <version> --file <tarball>``.

    python -m tests.real_engine.plugin.build DEST_DIR    # prints the tarball's path
"""

from __future__ import annotations

import io
import shlex
import sys
import tarfile
from pathlib import Path

from .server import plugin_version

ROOT = Path(__file__).resolve().parents[3]  # the repository: tests/real_engine/plugin/build.py
EXECUTABLE = "pulumi-resource-aws"


def shim(python: str = sys.executable, root: Path = ROOT) -> str:
    """The shim's text: exec ``python -m tests.real_engine.plugin`` with the engine's arguments."""
    return (
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {shlex.quote(python)} -m tests.real_engine.plugin "$@"\n'
    )


def build(dest: Path) -> Path:
    """Write ``pulumi-resource-aws-v<version>-linux-amd64.tar.gz`` into ``dest``; return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    tarball = dest / f"pulumi-resource-aws-v{plugin_version()}-linux-amd64.tar.gz"
    data = shim().encode()
    with tarfile.open(tarball, "w:gz") as tar:
        info = tarfile.TarInfo(EXECUTABLE)
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    return tarball


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
