"""What every resource type shares: its schema, and Check and Diff as a Terraform-bridged provider does them.

A resource type lists its input fields (:class:`Field`) with what Terraform's schema says of each:
Required, a Default, ForceNew (create-only: a change replaces the resource), Optional+Computed (left
out, it keeps what the state has), a JSON document, or the autonamed ``name`` pulumi-aws fills in.
Create, Read, Update and Delete are the type's own; they talk to moto through :class:`Context`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import is_empty, same
from .values import UNKNOWN, contains_unknown

DEFAULTS_KEY = "__defaults"  # the bridge records which inputs it defaulted (an autoname among them)
NO_DEFAULT = object()


@dataclass(frozen=True)
class Field:
    """One input property, with what the Terraform schema says of it."""

    name: str
    required: bool = False
    default: Any = NO_DEFAULT
    create_only: bool = False
    computed: bool = False
    as_json: bool = False


@dataclass
class Context:
    """What a CRUD call gets: a client factory for the configured endpoint, the region, the timeout, preview."""

    client: Callable[[str], Any]
    region: str
    account: str
    timeout: float = 0.0
    preview: bool = False
    program_dir: Path = field(default_factory=Path.cwd)


@dataclass
class DiffResult:
    """A Diff's answer: the changed top-level properties and which of them replace."""

    changed: dict[str, str] = field(default_factory=dict)  # name → ADD/UPDATE/DELETE
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


class Gone(Exception):
    """The resource no longer exists in AWS (Read reports it gone)."""


class PartiallyCreated(Exception):
    """The resource exists, but a step after its creation failed: the engine must still record it
    (the provider answers ``ErrorResourceInitFailed``, and the next update finishes the job)."""

    def __init__(self, id_: str, cause: Exception) -> None:
        super().__init__(str(cause))
        self.id = id_
        self.cause = cause


class ResourceType:
    """A resource type's schema with Check and Diff; subclasses add create/read/update/delete."""

    token: str = ""
    fields: tuple[Field, ...] = ()
    autoname: str | None = None  # the property pulumi-aws autonames, if any
    autoname_max: int = 255
    lower_autoname: bool = False
    outputs: tuple[str, ...] = ()  # computed-only outputs, unknown in a preview

    def field(self, name: str) -> Field | None:
        """The input field ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)

    def check(self, olds: dict[str, Any], news: dict[str, Any], name: str, seed: bytes) -> tuple[dict, list]:
        """Defaults filled in and required inputs checked: ``(inputs, failures)``.

        As the bridge does, an autonamed property keeps the name it had (``olds``) when it was
        autonamed then, else gets ``<name>-<7 hex>`` from the engine's random seed.
        """
        inputs = {k: v for k, v in news.items() if k != DEFAULTS_KEY}
        defaulted: list[str] = []
        if self.autoname and inputs.get(self.autoname) is None and inputs.get("namePrefix") is None:
            old_name = olds.get(self.autoname)
            if old_name is not None and self.autoname in (olds.get(DEFAULTS_KEY) or []):
                inputs[self.autoname] = old_name
            else:
                inputs[self.autoname] = self._autoname(name, seed)
            defaulted.append(self.autoname)
        for f in self.fields:
            if inputs.get(f.name) is None and f.default is not NO_DEFAULT:
                inputs[f.name] = f.default
                defaulted.append(f.name)
        failures = [
            (f.name, f"Missing required argument: {f.name!r}")
            for f in self.fields
            if f.required and inputs.get(f.name) is None
        ]
        failures += self.validate(inputs)
        inputs[DEFAULTS_KEY] = defaulted
        return inputs, failures

    def _autoname(self, name: str, seed: bytes) -> str:
        suffix = hashlib.sha256(seed or name.encode()).hexdigest()[:7]
        base = name[: self.autoname_max - 8]
        generated = f"{base}-{suffix}"
        return generated.lower() if self.lower_autoname else generated

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """The type's own plan-time checks (Terraform's validation and CustomizeDiff); none by default."""
        return []

    def diff(self, olds: dict[str, Any], news: dict[str, Any], ignore: list[str]) -> DiffResult:
        """Compare the checked inputs ``news`` with the state ``olds`` field by field."""
        result = DiffResult()
        for f in self.fields:
            if f.name in ignore:
                continue
            new, old = news.get(f.name), olds.get(f.name)
            if new is None and (f.computed or f.default is not NO_DEFAULT):
                continue
            if same(new, old, as_json=f.as_json) if new is not None else is_empty(old):
                continue
            kind = "ADD" if old is None else "DELETE" if new is None else "UPDATE"
            result.changed[f.name] = kind
            if f.create_only:
                result.replaces.append(f.name)
        result.delete_before_replace = bool(result.replaces) and self._named_by_user(news)
        return result

    def _named_by_user(self, news: dict[str, Any]) -> bool:
        # The bridge deletes first when the new resource keeps a name the user chose: two cannot coexist.
        if self.autoname is None:
            return False
        return news.get(self.autoname) is not None and self.autoname not in (news.get(DEFAULTS_KEY) or [])

    def preview_outputs(self, inputs: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
        """What a preview says the resource will hold: the inputs, and computed outputs unknown (create)
        or as they were (update)."""
        outputs = dict(olds or {})
        outputs.update({k: v for k, v in inputs.items() if k != DEFAULTS_KEY})
        for name in self.outputs:
            if olds is None or name in self.changes_on_update(olds, inputs):
                outputs[name] = UNKNOWN
        if self.field("tags") is not None:
            # tagsAll is planned (tags merged with the provider's default tags, which this plugin has none of).
            outputs["tagsAll"] = inputs.get("tags") or {}
        return outputs

    def changes_on_update(self, olds: dict[str, Any], news: dict[str, Any]) -> set[str]:
        """Computed outputs an update with ``news`` would change (unknown in its preview)."""
        return set()

    def inputs_from(self, outputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs a Read reports: each input field the state holds, as Check would have written it."""
        inputs = {f.name: outputs[f.name] for f in self.fields if not is_empty(outputs.get(f.name))}
        inputs[DEFAULTS_KEY] = []
        return inputs


def known(value: Any) -> bool:
    """Whether ``value`` holds no unknown (a preview's inputs may)."""
    return not contains_unknown(value)
