"""The config a target stage needs, checked before ``up`` or ``plan`` changes or previews anything.

``up --stage N`` runs stages current+1 .. N; each one reads the config as its own stage. Checking
only when a stage starts let an earlier stage be applied before a later one found the config
wrong (and ``plan`` turned such an error into a note). Stage N needs everything the stages before
it need, so checking the config as stage N reads it covers them all, except the keys the migrator
itself records on the way (``importSource``, written by stage 1): a stand-in takes their place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrator.core.config import NAMESPACE, MigrationConfig, parse_config

# Written by the migrator during the run (design.md §4), so not asked of the user beforehand.
_RECORDED_ON_THE_WAY = {"importSource": {"bucket": "recorded-by-stage-1", "keyPrefix": "recorded-by-stage-1/"}}


def check_config_for_stage(values: Mapping[str, Any], stage: int) -> MigrationConfig:
    """Parse the stack config as stage ``stage`` will read it; raise ConfigError (exit 2) naming the key."""
    given = dict(values)
    for name, stand_in in _RECORDED_ON_THE_WAY.items():
        if given.get(name) in (None, "") and given.get(f"{NAMESPACE}:{name}") in (None, ""):
            given[name] = stand_in
    given.pop(f"{NAMESPACE}:stage", None)
    return parse_config({**given, "stage": str(stage)})
