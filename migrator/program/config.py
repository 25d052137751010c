"""The program's stack config: Pulumi's config read into :class:`migrator.core.config.MigrationConfig`.

The parsing and its messages live in :mod:`migrator.core.config` (shared with the migrator); this module
only collects the raw values and turns a :class:`ConfigError` into a Pulumi error without a traceback.
"""

from __future__ import annotations

from typing import Any

import pulumi

from migrator.core.config import NAMESPACE, REGION_KEY, MigrationConfig, parse_config
from migrator.core.errors import ConfigError

# Every key the program reads under the ``table-migration`` namespace (the README's "Stack config").
CONFIG_KEYS = (
    "stage",
    "legacyTable",
    "newTable",
    "derive",
    "exportBucket",
    "endpoint",
    "importSource",
    "adoptNewTable",
    "online",
)


class StackConfigError(pulumi.RunError):
    """Stack config is wrong. A RunError: Pulumi prints its message and no Python traceback."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error
        self.key = error.key


def raw_values() -> dict[str, Any]:
    """The stack's config values as Pulumi gives them to a program (objects as JSON text)."""
    config = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    for name in CONFIG_KEYS:
        value = config.get(name)
        if value is not None:
            values[name] = value
    return values


def validate(values: dict[str, Any], *, region: str | None) -> MigrationConfig:
    """Parse ``values``; add the program's own rule: ``aws:region`` is set in the stack.

    The region decides where the tables are; it must not depend on the environment of whoever runs
    ``pulumi up`` (AWS_REGION), and the endpoint provider needs it explicitly anyway.
    """
    config = parse_config(values, region=region)
    if not config.region:
        raise ConfigError(
            REGION_KEY,
            "is missing; it decides where the tables live.",
            hint="Set it with `pulumi config set aws:region us-east-1`.",
        )
    return config


def load_config() -> MigrationConfig:
    """Read and validate the stack config; on a mistake stop the program with the key and the fix."""
    region = pulumi.Config("aws").get("region")
    try:
        return validate(raw_values(), region=region)
    except ConfigError as e:
        raise StackConfigError(e) from None
