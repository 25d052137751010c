"""The port to where the migrator keeps what it records about one stack. Pure: a protocol and an in-memory store.

What the *program* reads stays stack config (``stage``, ``importSource``). What the migrator
*records* — the lock, the progress record (export, checks, served traffic, the report) and, for an
online cutover, stream checkpoints — lives in a :class:`RecordStore` that every machine with the
same AWS credentials reaches: the working copy's ``Pulumi.<stack>.yaml`` is not shared (two machines
never saw each other's lock, and a Pulumi Cloud Deployment threw the progress away with its working
copy). ``migrator.data.records.DynamoRecordStore`` is the store on AWS; :class:`MemoryRecordStore`
serves tests and dry runs.

Entries are small JSON objects, one per *kind*, written whole: a frequent small write (checkpoints,
up to once a second) costs one request and never rewrites the progress record. Entries that carry a
``token`` (the lock) can be written and deleted conditionally, which makes the lock a real
compare-and-swap rather than write-then-read-back.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

PROGRESS = "progress"  # the Record (migrator.core.record)
LOCK = "lock"  # the LockOwner of the run holding the stack (migrator.engine.lock)
CHECKPOINTS = "checkpoints"  # stream replay positions of an online cutover, written often
KINDS = (PROGRESS, LOCK, CHECKPOINTS)


@runtime_checkable
class RecordStore(Protocol):
    """What the migrator records about one stack, shared by every machine that migrates it."""

    @property
    def where(self) -> str:
        """Where the entries live, for messages (e.g. ``DynamoDB table table-migration-records``)."""
        ...

    def load(self, kind: str) -> Any:
        """The entry of ``kind`` (a dict), or None when there is none (reading never creates anything).

        An entry that is not JSON comes back as its text, for its reader to refuse with the fix.
        """
        ...

    def save(self, kind: str, value: Mapping[str, Any]) -> None:
        """Write the entry of ``kind`` whole (one request)."""
        ...

    def put_if(self, kind: str, value: Mapping[str, Any], *, current_token: str | None) -> bool:
        """Write ``value`` only if the stored entry's ``token`` is ``current_token`` (None: only if absent).

        False when another writer got there first; nothing is written then.
        """
        ...

    def delete_if(self, kind: str, *, token: str) -> bool:
        """Delete the entry of ``kind`` only if its ``token`` is ``token``; False otherwise."""
        ...


def check_kind(kind: str) -> str:
    """``kind`` if it is one the migrator records; ValueError otherwise (a typo must not create an entry)."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def decode(text: str) -> Any:
    """A stored entry's value: its JSON, or the text itself when it is not JSON (a damaged entry)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def token_of(entry: Any) -> str | None:
    """The ``token`` of an entry, None when it has none (or is damaged)."""
    return entry.get("token") if isinstance(entry, Mapping) else None


def as_json(value: Mapping[str, Any]) -> str:
    """The stored text of an entry: compact JSON (and a check that it is plain JSON)."""
    return json.dumps(dict(value), separators=(",", ":"), sort_keys=True)


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
