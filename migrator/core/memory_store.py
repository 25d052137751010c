"""A record store in this process, for tests and dry runs. Pure."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from migrator.core.ports import as_json, check_kind, decode, token_of


class MemoryRecordStore:
    """A :class:`RecordStore` in this process; share one instance to share the records (thread-safe)."""

    def __init__(self, where: str = "memory") -> None:
        self._where = where
        self._entries: dict[str, str] = {}
        self._lock = threading.Lock()
        self.writes = 0  # how many writes reached the store (for tests of write costs)

    @property
    def where(self) -> str:
        return self._where

    def load(self, kind: str) -> Any:
        with self._lock:
            text = self._entries.get(check_kind(kind))
        return None if text is None else decode(text)

    def save(self, kind: str, value: Mapping[str, Any]) -> None:
        text = as_json(value)
        with self._lock:
            self._entries[check_kind(kind)] = text
            self.writes += 1

    def put_if(self, kind: str, value: Mapping[str, Any], *, current_token: str | None) -> bool:
        text = as_json(value)
        with self._lock:
            stored = self._entries.get(check_kind(kind))
            token = None if stored is None else token_of(decode(stored))
            if (stored is None) != (current_token is None) or (stored is not None and token != current_token):
                return False
            self._entries[kind] = text
            self.writes += 1
            return True

    def delete_if(self, kind: str, *, token: str) -> bool:
        with self._lock:
            stored = self._entries.get(check_kind(kind))
            if stored is None or token_of(decode(stored)) != token:
                return False
            del self._entries[kind]
            self.writes += 1
            return True

    def snapshot(self) -> dict[str, Any]:
        """Every entry, decoded (a deep copy)."""
        with self._lock:
            return copy.deepcopy({k: decode(v) for k, v in self._entries.items()})

    def store_text(self, kind: str, text: str) -> None:
        """Keep ``text`` as the entry of ``kind`` as it is: what a hand-edited or damaged entry looks like."""
        with self._lock:
            self._entries[check_kind(kind)] = text
