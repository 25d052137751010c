"""The stream replays' saved positions: the record store's ``checkpoints`` entry of one stack."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from migrator.core.cutover_state import positions, with_positions
from migrator.core.ports import CHECKPOINTS, RecordStore


class CheckpointBook:
    """The ``checkpoints`` entry, read once and written whole on every change (at most once a second)."""

    def __init__(self, store: Callable[[], RecordStore]) -> None:
        self._store = store
        self._entry: dict[str, Any] | None = None

    @property
    def entry(self) -> dict[str, Any]:
        """The whole entry (read on first use)."""
        if self._entry is None:
            self._entry = dict(self._store().load(CHECKPOINTS) or {})
        return self._entry

    def positions(self, direction: str, *, stream: str, export: str | None = None) -> dict[str, str]:
        """The positions saved for ``direction`` on this stream (and export); empty when there are none."""
        return positions(self.entry, direction, stream=stream, export=export)

    def saver(self, direction: str, *, stream: str, export: str | None = None) -> Callable[[str, str], None]:
        """An ``on_checkpoint`` callback saving ``direction``'s position of a shard (one write per call)."""
        current = self.positions(direction, stream=stream, export=export)

        def save_position(shard_id: str, position: str) -> None:
            current[shard_id] = position
            self.save(direction, current, stream=stream, export=export)

        return save_position

    def save(self, direction: str, checkpoints: Mapping[str, str], *, stream: str, export: str | None = None) -> None:
        """Write ``direction``'s positions on this stream (and export)."""
        self._entry = with_positions(self.entry, direction, checkpoints, stream=stream, export=export)
        self._store().save(CHECKPOINTS, self._entry)
