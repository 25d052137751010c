"""Shared fixtures: a real moto server over HTTP on 127.0.0.1 (random port), reset before each test."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from migrator.data.aws import AwsSettings
from migrator.demo.local import moto_server
from tests.support.spark_env import spark_session_for_tests


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server (in this process, real HTTP on 127.0.0.1, a free port) for the session; yield its URL."""
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real account: fake credentials, a fixed region, no shared config files."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@dataclass
class Moto:
    """A freshly reset moto server and clients pointed at it."""

    endpoint: str
    settings: AwsSettings
    dynamodb: Any
    s3: Any


@pytest.fixture
def moto(moto_endpoint: str) -> Moto:
    """Reset the session's moto server and hand out clients for it."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()
    settings = AwsSettings(region="us-east-1", endpoint_url=moto_endpoint)
    return Moto(moto_endpoint, settings, settings.client("dynamodb"), settings.client("s3"))


# CI fails when a real-engine test was skipped where the CLI should be (.ci/run names the file).
SKIPS_FILE_ENV = "TABLE_MIGRATION_REAL_ENGINE_SKIPS"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Append each skipped ``real_engine`` test (and why) to the file ``$TABLE_MIGRATION_REAL_ENGINE_SKIPS``."""
    path = os.environ.get(SKIPS_FILE_ENV)
    if path and report.skipped and "real_engine" in report.keywords:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{report.nodeid}: {reason}\n")
@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One SparkSession on local[2] for every Spark test, in any tier; skipped, with the reason, without pyspark
    (the ``spark`` extra) or Java 17 (tests/support/spark_env.py)."""
    yield from spark_session_for_tests()
