"""Property values on the wire (``google.protobuf.Struct``) ↔ Python values.

The engine encodes what JSON cannot say as objects carrying a signature key: secrets, assets,
archives (with their content hash), resource references and output values; an unknown value (during
a preview) is a string sentinel. Here they become :class:`Secret`, :class:`Asset`, :class:`Archive`
and :data:`UNKNOWN`; everything else is plain ``dict``/``list``/``str``/``float``/``bool``/``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2

SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN_TEXT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class _Unknown:
    """A value not known until the update runs (preview only)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A value the engine keeps encrypted in the state and masks in its output."""

    value: Any


@dataclass(frozen=True)
class Asset:
    """A file, text or URI asset; ``hash`` is the engine's SHA-256 of its content."""

    hash: str
    text: str | None = None
    path: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Archive:
    """An archive: named assets/archives, a path (folder, zip, tar) or a URI; ``hash`` as for assets."""

    hash: str
    assets: dict[str, Asset | Archive] | None = field(default=None, hash=False)
    path: str | None = None
    uri: str | None = None


def from_struct(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    """A property map from the wire."""
    if struct is None:
        return {}
    return {key: from_value(value) for key, value in struct.fields.items()}


def from_value(value: struct_pb2.Value) -> Any:
    """One property value from the wire."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return UNKNOWN if value.string_value == UNKNOWN_TEXT else value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [from_value(v) for v in value.list_value.values]
    return _special(from_struct(value.struct_value))


def _special(obj: dict[str, Any]) -> Any:
    sig = obj.get(SIG)
    if sig is None:
        return obj
    if sig == SECRET_SIG:
        return Secret(obj.get("value"))
    if sig == ASSET_SIG:
        return Asset(obj.get("hash") or "", obj.get("text"), obj.get("path"), obj.get("uri"))
    if sig == ARCHIVE_SIG:
        return Archive(obj.get("hash") or "", obj.get("assets"), obj.get("path"), obj.get("uri"))
    if sig == RESOURCE_SIG:
        # Only sent to a provider that accepts references; this one declines, so the id is all it needs.
        return obj.get("id", obj.get("urn"))
    if sig == OUTPUT_SIG:
        inner = obj.get("value", UNKNOWN) if "value" in obj else UNKNOWN
        return Secret(inner) if obj.get("secret") else inner
    raise ValueError(f"unknown property signature {sig!r}")


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    """A property map for the wire."""
    struct = struct_pb2.Struct()
    for key, value in props.items():
        struct.fields[key].CopyFrom(to_value(value))
    return struct


def to_value(value: Any) -> struct_pb2.Value:
    """One property value for the wire."""
    out = struct_pb2.Value()
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif value is UNKNOWN:
        out.string_value = UNKNOWN_TEXT
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int | float):
        out.number_value = float(value)
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list | tuple):
        out.list_value.values.extend(to_value(v) for v in value)
    elif isinstance(value, dict):
        out.struct_value.CopyFrom(to_struct(value))
    else:
        out.struct_value.CopyFrom(to_struct(_special_dict(value)))
    return out


def _special_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Secret):
        return {SIG: SECRET_SIG, "value": value.value}
    if isinstance(value, Asset):
        body = {"text": value.text, "path": value.path, "uri": value.uri}
        return {SIG: ASSET_SIG, "hash": value.hash, **{k: v for k, v in body.items() if v is not None}}
    if isinstance(value, Archive):
        body = {"assets": value.assets, "path": value.path, "uri": value.uri}
        return {SIG: ARCHIVE_SIG, "hash": value.hash, **{k: v for k, v in body.items() if v is not None}}
    raise TypeError(f"cannot send {type(value).__name__} to the engine")


def reveal(props: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """``props`` without secret wrappers, and the top-level keys that held (or contained) a secret."""
    secret_keys = {key for key, value in props.items() if _has_secret(value)}
    return {key: _strip(value) for key, value in props.items()}, secret_keys


def conceal(props: dict[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    """``props`` with each of ``secret_keys`` marked secret again (what the engine does for old providers)."""
    return {key: Secret(value) if key in secret_keys and value is not None else value for key, value in props.items()}


def _has_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


def _strip(value: Any) -> Any:
    if isinstance(value, Secret):
        return _strip(value.value)
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def contains_unknown(value: Any) -> bool:
    """Whether ``value`` is, or holds, an unknown."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False
