"""The config a target stage needs, checked before ``up`` or ``plan`` changes or previews anything.

``up --stage N`` runs stages current+1 .. N; each one reads the config as its own stage. Checking
only when a stage starts let an earlier stage be applied before a later one found the config
wrong (and ``plan`` turned such an error into a note). Stage N needs everything the stages before
it need, so checking the config as stage N reads it covers them all, except the keys the migrator
itself records on the way (``importSource``, written by stage 1): a stand-in takes their place.

The ``freezeHook`` is imported here too, for any target stage from 1 to 3 online: a hook that cannot be
imported used to be found only inside the cutover's window, after the export, the catch-up and the
live verify; now ``plan`` and ``up`` refuse it before stage 1 changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrator.core.config import NAMESPACE, MigrationConfig, parse_config
from migrator.core.online_config import load_freeze_hook

# Written by the migrator during the run (README "Stack config"), so not asked of the user beforehand.
_RECORDED_ON_THE_WAY = {"importSource": {"bucket": "recorded-by-stage-1", "keyPrefix": "recorded-by-stage-1/"}}


def check_config_for_stage(values: Mapping[str, Any], stage: int, *, hook: bool = True) -> MigrationConfig:
    """Parse the stack config as stage ``stage`` will read it; raise ConfigError (exit 2) naming the key.

    ``hook=False`` leaves the ``freezeHook`` to :func:`check_freeze_hook`, for a caller that must first know
    whether a freeze window was interrupted (then the Lambda writers are unfrozen before the hook is loaded).
    """
    given = dict(values)
    for name, stand_in in _RECORDED_ON_THE_WAY.items():
        if given.get(name) in (None, "") and given.get(f"{NAMESPACE}:{name}") in (None, ""):
            given[name] = stand_in
    given.pop(f"{NAMESPACE}:stage", None)
    config = parse_config({**given, "stage": str(stage)})
    if hook:
        check_freeze_hook(config, stage)
    return config


def check_freeze_hook(config: MigrationConfig, stage: int) -> None:
    """Import the ``freezeHook`` when stages up to ``stage`` may call it (online, 1-3); ConfigError (exit 2)."""
    if config.online.online and 1 <= stage <= 3:
        load_freeze_hook(config.online.freeze_hook)  # the cutover calls it; a ConfigError names the key
