"""Whether the Spark tier can run here (pyspark and Java 17), and the one SparkSession the tier shares."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def java_major() -> int | None:
    """The major version of the ``java`` on PATH (or under JAVA_HOME), or None when there is none."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def spark_missing() -> str | None:
    """Why the Spark tier cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install -e '.[spark]'"
    major = java_major()
    if major is None:
        return "no Java found (Spark needs Java 17)"
    if major < 17:
        return f"Java {major} found; Spark 4 needs Java 17"
    return None


REQUIRE = "TABLE_MIGRATION_REQUIRE_SPARK"  # set to 1 (CI, where Java 17 is present): a skip becomes a failure


def spark_session_for_tests() -> Iterator[Any]:
    """One SparkSession on local[2] (the JVM start costs seconds); skipped, with the reason, where it cannot run,
    unless ``TABLE_MIGRATION_REQUIRE_SPARK=1`` says it must (then the reason fails the test)."""
    reason = spark_missing()
    if reason:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but the Spark tier cannot run here: {reason}")
        pytest.skip(reason)
    from migrator.data.spark.job import spark_session

    # The Python workers inherit the JVM's environment, fixed when it starts: fake credentials only.
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        for name, value in FAKE_AWS.items():
            patch.setenv(name, value)
        session = spark_session(
            "local[2]",
            {
                "spark.ui.enabled": "false",
                "spark.driver.memory": "1g",
                "spark.default.parallelism": "4",
                "spark.sql.shuffle.partitions": "4",
            },
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
