"""``migrate demo --no-install --json`` on the real engine: stages 0→4 with the consumer writing, none lost.

The demo runs as a user runs it, in a subprocess, with the CLI on PATH and the tier's aws plugin
installed in ``PULUMI_HOME`` under the version the installed ``pulumi_aws`` declares; it starts its
own moto server and file backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.real_engine.helpers import RealEngine

pytestmark = pytest.mark.real_engine

MIGRATE = str(Path(sys.executable).with_name("migrate"))


def test_the_demo_migrates_0_to_4_on_the_real_engine_with_no_write_missing(
    real_engine: RealEngine, tmp_path: Path
) -> None:
    keep = ("PATH", "PULUMI_HOME", "PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "HOME")
    env = {k: v for k, v in real_engine.env.items() if k in keep}
    env["TMPDIR"] = str(tmp_path)

    done = subprocess.run(
        [MIGRATE, "demo", "--no-install", "--json"],
        cwd=tmp_path,
        env={**env, "LANG": os.environ.get("LANG", "C.UTF-8")},
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stderr[-6000:]
    result = json.loads(done.stdout)
    assert result["stages"] == [0, 1, 2, 3, 4]
    assert result["writes"]["acknowledged"] > 0
    assert result["writes"]["missing"] == 0, result["writes"]
    assert result["report"]["newTable"] == "MyNewTable"
