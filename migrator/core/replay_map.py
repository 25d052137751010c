"""How a replayed item of one table becomes an item of the other, and which streams allow it. Pure.

Forward (legacy → new): the derive rules, as the transform applies them. Reverse (new → legacy, for
going back after cutover): the new item minus the derived attributes, which needs the legacy key
attributes to be in the new items; the derive rules guarantee that when they only add attributes.

A replay must also find the target key of a *deleted* item. With old images in the stream it is
derived from the old image; without them (``NEW_IMAGE``, ``KEYS_ONLY``) only from the record's key,
which works when the target key is computed from the source key alone (``UUID=uuid5(Name)`` with
legacy key ``Name``), and is refused otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.core.derive import Deriver, DeriveRule, Hook, RejectError, evaluate
from migrator.core.errors import ReplayImpossibleError

Item = dict[str, Any]
KeyFunction = Callable[[Item], Item]

FORWARD = "forward"
REVERSE = "reverse"
VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")
_NEW_STREAM_HINT = (
    "Give the table a NEW_AND_OLD_IMAGES stream (a stream's view type cannot change: disable it and enable "
    "a new one, then export again), or migrate offline with table-migration:online: false."
)


@dataclass(frozen=True)
class ItemMap:
    """One direction of a replay: source items to target items, and source keys to target keys where possible."""

    direction: str
    source_keys: tuple[str, ...]
    target_keys: tuple[str, ...]
    convert: Callable[[Item], Item]
    key_of_source_key: KeyFunction | None = None
    rules_text: str = ""

    def target_item(self, item: Item) -> Item:
        """The target item for a source item; :class:`RejectError` when it cannot be made or lacks a key attribute."""
        converted = self.convert(item)
        missing = [k for k in self.target_keys if k not in converted]
        if missing:
            side = "legacy" if self.direction == REVERSE else "new"
            raise RejectError(f"lacks {side} key attribute(s) {', '.join(missing)}")
        return converted

    def target_key(self, target_item: Item) -> Item:
        """The key attributes of a target item."""
        return {k: target_item[k] for k in self.target_keys}

    def source_key(self, source_item: Item) -> Item:
        """The key attributes of a source item (:class:`RejectError` when one is missing)."""
        missing = [k for k in self.source_keys if k not in source_item]
        if missing:
            raise RejectError(f"lacks key attribute(s) {', '.join(missing)}")
        return {k: source_item[k] for k in self.source_keys}

    @property
    def guard_deletes(self) -> bool:
        """Whether deleting a stale target key must check that the item there still comes from the same source key.

        Needed forward when the new key follows from non-key attributes: another legacy item may have
        moved onto that key since. New items keep the legacy attributes, so the check can read them.
        """
        return self.direction == FORWARD and self.key_of_source_key is None


def forward_map(
    rules: Sequence[DeriveRule],
    legacy_keys: Sequence[str],
    new_keys: Sequence[str],
    *,
    hook: Hook | None = None,
) -> ItemMap:
    """Legacy → new through the derive rules (and hook), as the transform does."""
    rules = tuple(rules)
    deriver = Deriver(rules, hook)
    key_fn = None if hook is not None else _key_function(rules, tuple(legacy_keys), tuple(new_keys))
    text = ", ".join(str(r) for r in rules) + (f", hook {getattr(hook, '__name__', 'hook')}" if hook else "")
    return ItemMap(FORWARD, tuple(legacy_keys), tuple(new_keys), deriver, key_fn, text)


def reverse_map(
    rules: Sequence[DeriveRule],
    legacy_keys: Sequence[str],
    new_keys: Sequence[str],
    *,
    hook: Hook | None = None,
) -> ItemMap:
    """New → legacy: the new item minus the derived attributes.

    Raise :class:`ReplayImpossibleError` when that is not the legacy item (a hook, or rules that overwrite
    a legacy key attribute).
    """
    rules = tuple(rules)
    legacy_keys, new_keys = tuple(legacy_keys), tuple(new_keys)
    if hook is not None:
        raise ReplayImpossibleError(
            "Writes made to the new table cannot be carried back: a --python hook may change any attribute, "
            "so a new item does not tell what its legacy item was.",
            hint="Go back without them (--discard-new-writes), or copy them back with your own tooling.",
        )
    targets = {r.target for r in rules}
    overwritten = [k for k in legacy_keys if k in targets]
    if overwritten:
        raise ReplayImpossibleError(
            f"Writes made to the new table cannot be carried back: the derive rules overwrite the legacy key "
            f"attribute(s) {', '.join(overwritten)}, so new items no longer hold their legacy key.",
            hint="Go back without them (--discard-new-writes), or copy them back with your own tooling.",
        )

    def strip(item: Item) -> Item:
        return {name: value for name, value in item.items() if name not in targets}

    key_fn: KeyFunction | None = None
    if all(k in new_keys for k in legacy_keys):

        def key_fn(key: Item) -> Item:
            return {k: key[k] for k in legacy_keys}

    text = "minus " + ", ".join(sorted(targets)) if targets else "as is"
    return ItemMap(REVERSE, new_keys, legacy_keys, strip, key_fn, text)


def _key_function(
    rules: tuple[DeriveRule, ...], source_keys: tuple[str, ...], target_keys: tuple[str, ...]
) -> KeyFunction | None:
    """Source key → target key when every target key attribute follows from the source key alone; else None."""
    by_target = {r.target: r for r in rules}
    key_rules = []
    for name in target_keys:
        rule = by_target.get(name)
        if rule is None:
            if name not in source_keys:
                return None  # copied from a non-key attribute of the legacy item
        elif all(s in source_keys for s in rule.expression.sources):
            key_rules.append(rule)
        else:
            return None

    def key_of(key: Item) -> Item:
        derived = {r.target: evaluate(r.expression, key) for r in key_rules}
        merged = {**key, **derived}
        missing = [k for k in target_keys if k not in merged]
        if missing:
            raise RejectError(f"lacks key attribute(s) {', '.join(missing)}")
        return {k: merged[k] for k in target_keys}

    return key_of


@dataclass(frozen=True)
class ReplayMode:
    """How records of a stream view type are applied.

    ``read_back``: the records carry no new image (``KEYS_ONLY``, ``OLD_IMAGE``), so the item's state
    is read from the source table with a consistent read. ``old_images``: the records carry old images.
    """

    view_type: str
    read_back: bool
    old_images: bool


def replay_mode(view_type: str, item_map: ItemMap, *, table: str) -> ReplayMode:
    """The replay mode for a stream of ``view_type`` on ``table``; :class:`ReplayImpossibleError` with the reason."""
    if view_type not in VIEW_TYPES:
        raise ReplayImpossibleError(
            f"The stream of table {table} has view type {view_type!r}, which the replay does not know.",
            hint=_NEW_STREAM_HINT,
        )
    old_images = view_type in ("NEW_AND_OLD_IMAGES", "OLD_IMAGE")
    if not old_images and item_map.key_of_source_key is None:
        raise ReplayImpossibleError(
            f"The stream of table {table} is {view_type}: its records of deleted items carry only the key, and the "
            f"{'legacy' if item_map.direction == REVERSE else 'new'} key ({item_map.rules_text or 'as is'}) is not "
            "computed from that key alone, so the replay could not tell which item to delete.",
            hint=_NEW_STREAM_HINT,
        )
    return ReplayMode(view_type, read_back=view_type in ("KEYS_ONLY", "OLD_IMAGE"), old_images=old_images)
