"""The Spark tier skips, saying why, where it cannot run; with TABLE_MIGRATION_REQUIRE_SPARK=1 it fails instead."""

from __future__ import annotations

import pytest

from tests.support import spark_env


def _start() -> None:
    next(spark_env.spark_session_for_tests())


def test_without_spark_the_tier_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_env, "spark_missing", lambda: "no Java found (Spark needs Java 17)")
    monkeypatch.delenv(spark_env.REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Java found"):
        _start()


def test_where_spark_is_required_the_reason_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_env, "spark_missing", lambda: "pyspark is not installed")
    monkeypatch.setenv(spark_env.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="TABLE_MIGRATION_REQUIRE_SPARK=1 .* pyspark is not installed"):
        _start()


@pytest.mark.parametrize(
    ("shown", "major"), [('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_402"', 8)]
)
def test_the_java_version_is_read_from_its_banner(monkeypatch: pytest.MonkeyPatch, shown: str, major: int) -> None:
    monkeypatch.setenv("JAVA_HOME", "/opt/jdk")
    monkeypatch.setattr(spark_env.os.path, "exists", lambda _p: True)
    monkeypatch.setattr(spark_env.subprocess, "run", lambda *a, **k: type("Done", (), {"stderr": shown})())
    assert spark_env.java_major() == major
