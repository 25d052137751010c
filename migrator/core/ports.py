"""The orchestration's ports: the stack it drives (:class:`StackPort`), where it records (:class:`RecordStore`).

Pure.

What the *program* reads stays stack config (``stage``, ``importSource``). What the migrator
*records* — the lock, the progress record (export, checks, served traffic, the report) and, for an
online cutover, stream checkpoints — lives in a :class:`RecordStore` that every machine with the
same AWS credentials reaches: the working copy's ``Pulumi.<stack>.yaml`` is not shared (two machines
never saw each other's lock, and a Pulumi Cloud Deployment threw the progress away with its working
copy). ``migrator.data.record_table.DynamoRecordStore`` is the store on AWS;
``migrator.core.memory_store.MemoryRecordStore`` serves tests and dry runs.
``migrator.engine.workspace.PulumiWorkspace`` is the stack on the Pulumi engine.

Entries are small JSON objects, one per *kind*, written whole: a frequent small write (checkpoints,
up to once a second) costs one request and never rewrites the progress record. Entries that carry a
``token`` (the lock) can be written and deleted conditionally, which makes the lock a real
compare-and-swap rather than write-then-read-back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from migrator.core.guard import Preview

PROGRESS = "progress"  # the Record (migrator.core.record)
LOCK = "lock"  # the LockOwner of the run holding the stack (migrator.orchestrate.lock)
CHECKPOINTS = "checkpoints"  # stream replay positions of an online cutover, written often
UPDATE = "update"  # the Pulumi update a run has under way (migrator.orchestrate.recovery), gone once it returns
KINDS = (PROGRESS, LOCK, CHECKPOINTS, UPDATE)


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


Progress = Callable[[str], None]
"""Where a long step reports what it does: one line per call."""


@dataclass(frozen=True)
class StateResource:
    """One resource of the stack's state (``pulumi stack export``)."""

    urn: str
    type: str
    name: str
    protect: bool
    retain_on_delete: bool
    physical_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "physicalId": self.physical_id,
        }


@dataclass(frozen=True)
class PendingCreate:
    """A create an interrupted update left pending: the engine may or may not have made the resource."""

    urn: str
    type: str
    name: str
    physical_name: str | None  # the ``name`` input (a table's name), when the program gave one


@runtime_checkable
class StackPort(Protocol):
    """What the orchestrator needs of a stack; :class:`PulumiWorkspace` and the engine double implement it."""

    @property
    def name(self) -> str: ...

    @property
    def project(self) -> str:
        """The Pulumi project's name (``Pulumi.yaml``); with :attr:`name` it names the stack's records."""
        ...

    def get_config(self) -> dict[str, Any]:
        """Config keys without the ``table-migration:`` prefix, plus ``aws:region``; objects decoded."""
        ...

    def set_config(self, values: Mapping[str, Any]) -> None:
        """Set short keys (``stage``, ``importSource``…); dicts and lists are stored as YAML maps and lists."""
        ...

    def remove_config(self, keys: Iterable[str]) -> None: ...

    def preview(self, config: Mapping[str, Any] | None = None) -> Preview:
        """Preview an update; ``config`` (short keys) overrides values for this preview only, never written."""
        ...

    def up(self, on_output: Progress | None = None) -> dict[str, Any]:
        """Update the stack; return its outputs after the update."""
        ...

    def outputs(self) -> dict[str, Any]: ...

    def resources(self) -> list[StateResource]: ...

    def pending_creates(self) -> list[PendingCreate]:
        """Creates an interrupted update left pending in the state (``stack export``'s ``pending_operations``)."""
        ...

    def clear_pending_creates(self, urns: Iterable[str]) -> None:
        """Drop the pending creates of ``urns`` from the state; whatever they made stays where it is."""
        ...

    def cancel_update(self) -> None:
        """End the update the backend still counts as running (``pulumi cancel``); only for a dead one."""
        ...
