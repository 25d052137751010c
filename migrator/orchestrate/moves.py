"""Which stage moves a command makes, from the config and the record (:func:`migrator.core.stages.plan_up`)."""

from __future__ import annotations

from migrator.core import stages as st
from migrator.core.config import MigrationConfig
from migrator.core.record import Record
from migrator.core.replay_map import reverse_map
from migrator.core.tablespec import LOAD_WRITE


def moves_down(
    config: MigrationConfig, record: Record, current: int, stage: int, *, carry: bool, lose: bool
) -> list[st.StageMove]:
    """The moves of ``down --stage stage`` from ``current``; ``lose``: the new table's writes may be given up."""
    return st.plan_down(
        current,
        stage,
        served_traffic=record.served_traffic and not lose,
        legacy_name=config.legacy.name,
        new_name=config.new.name if config.new else "the new table",
        carry_back=carry,
    )


def moves_up(config: MigrationConfig, record: Record, stage: int) -> list[st.StageMove]:
    """The moves of ``up --stage stage`` from the last finished stage, with the config's steps."""
    load_write = config.new is not None and config.new.load == LOAD_WRITE
    return st.plan_up(
        record.completed_stage,
        stage,
        needs_transform=config.needs_transform if config.new is not None else True,
        load_write=load_write,
        online=config.online.online,
    )


def carries_back(config: MigrationConfig, current: int, target: int, *, discard: bool) -> bool:
    """Whether ``down`` from ``current`` to ``target`` carries the new table's writes back (online, 3→2).

    Refused with the reason (:class:`ReplayImpossibleError`) when a reverse replay is impossible, unless
    ``discard``.
    """
    if not config.online.online or discard or current < 3 or target >= current or config.new is None:
        return False
    reverse_map(config.derive, config.legacy.key_names, config.new.key_names)
    return True
