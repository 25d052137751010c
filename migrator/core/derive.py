"""Derive expressions (README "Stack config"): how a new item's attributes are computed from a legacy item.

Pure: no boto3, no Pulumi. Items are plain DynamoDB JSON (``{"Name": {"S": "a"}}``).

- ``X=Y`` copies attribute ``Y``.
- ``X=uuid5(Y)`` is ``str(uuid.uuid5(uuid.NAMESPACE_URL, text of Y))``, type S;
  ``uuid5(Y, <uuid>)`` uses that namespace instead.
- ``X=format("{A}#{B}")`` joins attributes into a string (``{{``/``}}`` for literal braces).

The text of an attribute is its S or N value as stored, or the base64 of a B value; any other type
cannot be a source of ``uuid5`` or ``format`` and makes the item a reject.
"""

from __future__ import annotations

import importlib
import re
import string
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import DeriveSyntaxError

Item = dict[str, Any]
Hook = Callable[[Item], Item]

_NAME = r"[A-Za-z0-9_.\-]+"
_COPY = re.compile(rf"^({_NAME})$")
_UUID5 = re.compile(rf"^uuid5\(\s*({_NAME})\s*(?:,\s*([0-9A-Fa-f\-]{{32,36}})\s*)?\)$")
_FORMAT = re.compile(r"""^format\(\s*(?:"(.*)"|'(.*)')\s*\)$""")
_HINT = 'Use X=Y, X=uuid5(Y), X=uuid5(Y, <namespace-uuid>) or X=format("{A}#{B}").'


class RejectError(Exception):
    """One item cannot be derived; ``reason`` is written aside with the item."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Copy:
    """``X=Y``: the attribute ``source`` as it is, whatever its type."""

    source: str

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    @property
    def result_type(self) -> str | None:
        return None  # whatever the source holds


@dataclass(frozen=True)
class Uuid5:
    """``X=uuid5(Y[, ns])``: a name-based UUID of the text of ``source``."""

    source: str
    namespace: uuid.UUID = uuid.NAMESPACE_URL

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    @property
    def result_type(self) -> str | None:
        return "S"


@dataclass(frozen=True)
class Format:
    """``X=format("...")``: attribute texts joined by a template."""

    template: str
    fields: tuple[str, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return self.fields

    @property
    def result_type(self) -> str | None:
        return "S"


Expression = Copy | Uuid5 | Format


@dataclass(frozen=True)
class DeriveRule:
    """One ``target=expression`` entry."""

    target: str
    expression: Expression
    text: str

    def __str__(self) -> str:
        return f"{self.target}={self.text}"


def parse_expression(target: str, text: str) -> DeriveRule:
    """Parse the right-hand side of one derive entry; raise :class:`DeriveSyntaxError` if it is wrong."""
    if not re.fullmatch(_NAME, target or ""):
        raise DeriveSyntaxError(f"Derive target {target!r} is not an attribute name.", hint=_HINT)
    body = (text or "").strip()
    if m := _COPY.match(body):
        return DeriveRule(target, Copy(m.group(1)), body)
    if m := _UUID5.match(body):
        namespace = uuid.NAMESPACE_URL
        if m.group(2):
            try:
                namespace = uuid.UUID(m.group(2))
            except ValueError:
                raise DeriveSyntaxError(
                    f"Derive {target}={body}: {m.group(2)!r} is not a UUID.",
                    hint="Give the namespace as a UUID such as 6ba7b811-9dad-11d1-80b4-00c04fd430c8.",
                ) from None
        return DeriveRule(target, Uuid5(m.group(1), namespace), body)
    if m := _FORMAT.match(body):
        template = m.group(1) if m.group(1) is not None else m.group(2)
        return DeriveRule(target, Format(template, _format_fields(target, body, template)), body)
    raise DeriveSyntaxError(f"Derive {target}={body!r} does not parse.", hint=_HINT)


def _format_fields(target: str, body: str, template: str) -> tuple[str, ...]:
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise DeriveSyntaxError(f"Derive {target}={body}: {e}.", hint=_HINT) from None
    fields = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if not re.fullmatch(_NAME, field) or spec or conversion:
            raise DeriveSyntaxError(f"Derive {target}={body}: {{{field}}} is not a plain attribute name.", hint=_HINT)
        fields.append(field)
    if not fields:
        raise DeriveSyntaxError(f"Derive {target}={body}: the template names no attribute.", hint=_HINT)
    return tuple(fields)


def parse_rules(entries: Mapping[str, str] | Iterable[str]) -> tuple[DeriveRule, ...]:
    """Parse a config mapping ``{target: expr}`` or CLI strings ``"target=expr"``, keeping their order."""
    if isinstance(entries, Mapping):
        pairs = [(str(k), str(v)) for k, v in entries.items()]
    else:
        pairs = []
        for entry in entries:
            target, sep, expr = str(entry).partition("=")
            if not sep:
                raise DeriveSyntaxError(f"Derive {entry!r} has no '='.", hint=_HINT)
            pairs.append((target.strip(), expr))
    rules = tuple(parse_expression(t, e) for t, e in pairs)
    seen: set[str] = set()
    for rule in rules:
        if rule.target in seen:
            raise DeriveSyntaxError(f"Derive sets {rule.target} twice.", hint="Keep one entry per attribute.")
        seen.add(rule.target)
    return rules


def load_hook(spec: str) -> Hook:
    """Import ``module:function``; raise :class:`DeriveSyntaxError` when it cannot be used."""
    module_name, sep, func_name = (spec or "").partition(":")
    if not sep or not module_name or not func_name:
        raise DeriveSyntaxError(
            f"--python {spec!r} is not module:function.", hint="Example: --python mypkg.rules:derive."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise DeriveSyntaxError(
            f"--python {spec}: cannot import {module_name} ({e}).",
            hint="Check the module name and that it is on PYTHONPATH.",
        ) from None
    except SyntaxError as e:
        raise DeriveSyntaxError(
            f"--python {spec}: {e.filename or module_name} line {e.lineno} is not valid Python ({e.msg}); fix it.",
            hint="",
        ) from None
    except Exception as e:  # the user's module raised while being imported: name what it raised
        raise DeriveSyntaxError(
            f"--python {spec}: importing {module_name} raised {type(e).__name__}: {e}; fix the module.",
            hint="",
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise DeriveSyntaxError(
            f"--python {spec}: {module_name} has no function {func_name}.", hint="Check the name after ':'."
        )
    return func


def attribute_text(item: Item, name: str) -> str:
    """The text of a scalar attribute (S, N as stored, B as base64); :class:`RejectError` otherwise."""
    value = item.get(name)
    if value is None:
        raise RejectError(f"missing attribute {name}")
    if isinstance(value, dict) and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind in ("S", "N", "B") and isinstance(raw, str):
            return raw
    raise RejectError(f"attribute {name} is not S, N or B")


def evaluate(expression: Expression, item: Item) -> dict[str, Any]:
    """The DynamoDB JSON value one expression gives for ``item``."""
    if isinstance(expression, Copy):
        value = item.get(expression.source)
        if value is None:
            raise RejectError(f"missing attribute {expression.source}")
        return value
    if isinstance(expression, Uuid5):
        return {"S": str(uuid.uuid5(expression.namespace, attribute_text(item, expression.source)))}
    values = {f: attribute_text(item, f) for f in expression.fields}
    # Not str.format: it would read "{a.b}" as an attribute lookup and "{0}" as a position.
    pieces = string.Formatter().parse(expression.template)
    return {"S": "".join(text + (values[field] if field is not None else "") for text, field, _, _ in pieces)}


@dataclass(frozen=True)
class Deriver:
    """Applies derive rules (then an optional hook) to one legacy item, giving the new item."""

    rules: tuple[DeriveRule, ...] = ()
    hook: Hook | None = None

    def __call__(self, item: Item) -> Item:
        """Return the new item; legacy attributes are kept. Raise :class:`RejectError` for a reject."""
        if self.rules:
            # Evaluate every rule on the legacy item first, so rule order never matters.
            derived = {rule.target: evaluate(rule.expression, item) for rule in self.rules}
            item = {**item, **derived}
        if self.hook is not None:
            try:
                result = self.hook(item)
            except Exception as e:  # the user's code: any failure is this item's reject reason
                raise RejectError(f"hook raised {type(e).__name__}: {e}") from None
            if not isinstance(result, dict):
                raise RejectError(f"hook returned {type(result).__name__}, not an item dict")
            item = result
        return item

    @property
    def is_identity(self) -> bool:
        return not self.rules and self.hook is None
