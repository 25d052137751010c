"""The Spark entry point explains itself on a machine without the spark extra."""

from __future__ import annotations

import subprocess
import sys

from tests.support.source_tree import ROOT


def test_the_entry_point_explains_itself_without_pyspark() -> None:
    code = "import sys; sys.modules['pyspark'] = None; from migrator.data.spark.__main__ import main; main(['-h'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "verify-job" in done.stdout and "transform-job" in done.stdout
