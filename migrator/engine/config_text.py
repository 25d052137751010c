"""Stack config as the Pulumi CLI stores it: full keys, text values (objects as JSON), the stack file. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migrator.core.config import NAMESPACE, REGION_KEY, key

SETTINGS_EXTENSIONS = (".yaml", ".yml", ".json")
_PREFIX = NAMESPACE + ":"


def settings_name(stack: str) -> str:
    """The stack file's name part: ``org/project/dev`` → ``dev`` (the file is ``Pulumi.dev.yaml``)."""
    return stack.rsplit("/", 1)[-1]


def stack_settings_file(work_dir: Path, stack: str) -> Path | None:
    """The stack's ``Pulumi.<stack>.yaml`` (or ``.yml``/``.json``) in ``work_dir``, or None."""
    for ext in SETTINGS_EXTENSIONS:
        path = work_dir / f"Pulumi.{settings_name(stack)}{ext}"
        if path.is_file():
            return path
    return None


def full_key(short: str) -> str:
    """``stage`` → ``table-migration:stage``; a key that already has a namespace (``aws:region``) as is."""
    return short if ":" in short else key(short)


def encode_value(name: str, value: Any) -> str:
    """The text stored for a config value: JSON for dicts and lists, ``true``/``false``, else ``str``."""
    if value is None:
        raise ValueError(f"config {name}: None is not a value; use remove_config to unset it")
    if isinstance(value, Mapping):
        return json.dumps(dict(value), separators=(",", ":"))
    if isinstance(value, list | tuple):
        return json.dumps(list(value), separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decode_config(values: Mapping[str, str]) -> dict[str, Any]:
    """Our keys without the namespace, plus ``aws:region``; JSON object/array text decoded."""
    out: dict[str, Any] = {}
    for full, text in values.items():
        if full.startswith(_PREFIX):
            out[full[len(_PREFIX) :]] = _decode(text)
        elif full == REGION_KEY:
            out[REGION_KEY] = text
    return out


def _decode(text: Any) -> Any:
    if isinstance(text, str) and text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
