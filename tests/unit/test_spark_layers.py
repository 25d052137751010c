"""pyspark stays in one module: migrator.data.spark.job. The package and the rest import without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.unit.test_layers import imports_of, python_files

ROOT = Path(__file__).resolve().parents[2]
ONLY = "migrator/data/spark/job.py"


def test_only_the_job_module_imports_pyspark() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(ROOT, "migrator")
        for line, module in imports_of(path, ROOT)
        if module.split(".")[0] == "pyspark" and path.relative_to(ROOT).as_posix() != ONLY
    ]
    assert found == []


def test_the_package_and_its_entry_point_import_without_pyspark() -> None:
    # pyspark made unimportable, as on a machine without the extra
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import migrator, migrator.data.spark, migrator.data.spark.partitions, migrator.data.spark.plan\n"
        "import migrator.data.spark.__main__, migrator.data.verify_exports\n"
        "try:\n    migrator.data.spark.verify_exports_spark\nexcept ImportError:\n    print('lazy')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lazy"


def test_the_entry_point_explains_itself_without_pyspark() -> None:
    code = "import sys; sys.modules['pyspark'] = None; from migrator.data.spark.__main__ import main; main(['-h'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "verify-job" in done.stdout and "transform-job" in done.stdout
