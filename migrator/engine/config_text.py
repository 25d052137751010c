"""Stack config as the Pulumi CLI stores it: full keys, values, the stack file. Pure.

Objects are written as YAML maps (``pulumi config set-all --json`` with an ``objectValue``), as a
reviewer reads them in git and as the README shows them; version 0.3 stored them as JSON text
(``'{"name":"MyTable",…}'``), which is still read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from migrator.core.config import NAMESPACE, REGION_KEY, key

SETTINGS_EXTENSIONS = (".yaml", ".yml", ".json")
_PREFIX = NAMESPACE + ":"


def settings_name(stack: str) -> str:
    """The stack file's name part: ``org/project/dev`` → ``dev`` (the file is ``Pulumi.dev.yaml``)."""
    return stack.rsplit("/", 1)[-1]


def project_config_dir(work_dir: Path) -> str | None:
    """The ``stackConfigDir`` that the project's ``Pulumi.yaml`` names, or None (the stack files sit beside it)."""
    for ext in SETTINGS_EXTENSIONS:
        path = work_dir / f"Pulumi{ext}"
        if path.is_file():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            found = loaded.get("stackConfigDir") if isinstance(loaded, dict) else None
            return str(found) if found else None
    return None


def stack_settings_file(work_dir: Path, stack: str, config_dir: str | None = None) -> Path | None:
    """The stack's ``Pulumi.<stack>.yaml`` (or ``.yml``/``.json``), or None when there is none.

    It sits in ``work_dir``, or in the project's ``stackConfigDir`` (``config_dir``, relative to
    ``work_dir``) when ``Pulumi.yaml`` names one.
    """
    folder = work_dir / config_dir if config_dir else work_dir
    for ext in SETTINGS_EXTENSIONS:
        path = folder / f"Pulumi.{settings_name(stack)}{ext}"
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


def set_all_json(values: Mapping[str, Any]) -> str:
    """The ``--json`` argument of ``pulumi config set-all`` for short keys: maps and lists as YAML structures.

    The CLI reads the format ``pulumi config --json`` prints: each key's ``value`` (text) and, for an
    object or a list, its ``objectValue``, which it writes into the stack file as a structure.
    """
    entries: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        entry: dict[str, Any] = {"value": encode_value(name, value), "secret": False}
        if isinstance(value, Mapping | list | tuple):
            entry["objectValue"] = dict(value) if isinstance(value, Mapping) else list(value)
        entries[full_key(name)] = entry
    return json.dumps(entries, separators=(",", ":"))


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
