"""Late writes and the conflicts they make. Pure: no boto3.

A *late write* reaches the legacy table after the writers were flipped to the new table (an
invocation that started before the freeze and wrote after the in-flight wait ended). It is applied
to the new table only when the new table's item under its key has not changed since the flip: no
other write to that key in the new table's stream since the flip, and the item as it is now is the
one the legacy table held just before the late write (its old image, mapped). Otherwise it is a
:class:`Conflict`: both images are kept, nothing is written, and someone decides (``migrate
conflicts --apply`` writes the late image, ``--drop`` keeps the new table's item).

The write itself is conditional on the item the check saw (:func:`condition_on`): every attribute of
that image equal, and every other attribute of the late image absent (``attribute_not_exists`` on the
key when there was no item), so a newer write landing between the check and the write fails it and
becomes a conflict too. No attribute is ever added to users' items.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

Item = dict[str, Any]
OPEN = "open"
APPLIED = "applied"
DROPPED = "dropped"
ACTIONS = (APPLIED, DROPPED)


def conflict_id(key: Mapping[str, str]) -> str:
    """A short stable name for a target key (its plain JSON, hashed): the conflict's file name."""
    return hashlib.sha256(orjson.dumps(dict(key), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


@dataclass(frozen=True)
class Conflict:
    """A late write not applied: the new table's key, the late image (None: a delete) and the item found.

    ``key`` and ``source_key`` are plain JSON (``{"UUID": "…"}``); ``late`` and ``current`` DynamoDB JSON.
    ``status`` is ``open`` until a resolution (``applied``/``dropped``, with ``resolved_at``).
    """

    key: Mapping[str, str]
    source_key: Mapping[str, str]
    sequence: str
    late: Item | None
    current: Item | None
    reason: str
    found_at: str
    status: str = OPEN
    resolved_at: str | None = None

    @property
    def id(self) -> str:
        """:func:`conflict_id` of the key."""
        return conflict_id(self.key)

    @property
    def open(self) -> bool:
        return self.status == OPEN

    def resolved(self, action: str, at: str) -> Conflict:
        """This conflict resolved by ``action`` (``applied`` or ``dropped``) at ``at``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown resolution {action!r}")
        return replace(self, status=action, resolved_at=at)

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept beside the rejects, and shown by ``migrate conflicts --json``."""
        return {
            "id": self.id,
            "key": dict(self.key),
            "sourceKey": dict(self.source_key),
            "sequence": self.sequence,
            "lateImage": self.late,
            "newTableImage": self.current,
            "reason": self.reason,
            "foundAt": self.found_at,
            "status": self.status,
            "resolvedAt": self.resolved_at,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Conflict:
        """Read what :meth:`to_dict` wrote."""
        return cls(
            key=dict(raw["key"]),
            source_key=dict(raw.get("sourceKey") or {}),
            sequence=str(raw.get("sequence", "")),
            late=raw.get("lateImage"),
            current=raw.get("newTableImage"),
            reason=str(raw.get("reason", "")),
            found_at=str(raw.get("foundAt", "")),
            status=str(raw.get("status", OPEN)),
            resolved_at=raw.get("resolvedAt"),
        )


@dataclass(frozen=True)
class Condition:
    """A ConditionExpression with its names and values (values in DynamoDB JSON, B as base64 text)."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]

    def kwargs(self) -> dict[str, Any]:
        """The request's condition arguments (values still to be converted to the wire form)."""
        args: dict[str, Any] = {"ConditionExpression": self.expression, "ExpressionAttributeNames": self.names}
        if self.values:
            args["ExpressionAttributeValues"] = self.values
        return args


def condition_on(seen: Item | None, late: Item | None, key_names: tuple[str, ...]) -> Condition:
    """The item must still be ``seen``: each of its attributes equal, each other attribute of ``late`` absent.

    With no item seen, the key attribute must not exist (nothing was written there meanwhile).
    """
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    terms: list[str] = []
    if seen is None:
        names["#k0"] = key_names[0]
        return Condition("attribute_not_exists(#k0)", names, values)
    for n, (name, value) in enumerate(sorted(seen.items())):
        names[f"#a{n}"], values[f":v{n}"] = name, value
        terms.append(f"#a{n} = :v{n}")
    for n, name in enumerate(sorted(set(late or {}) - set(seen))):
        names[f"#x{n}"] = name
        terms.append(f"attribute_not_exists(#x{n})")
    return Condition(" AND ".join(terms), names, values)
