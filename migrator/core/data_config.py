"""How the data is checked and where it is computed: ``table-migration:verify`` and ``:compute``. Pure.

- ``table-migration:verify: {method: scan | export}`` (default ``scan``). ``scan`` compares the new
  table with the export it was filled from by a parallel Scan (stage 2), and the two live tables by
  Scans (offline stage 3). ``export`` exports the new table too (point in time, no read capacity) and
  compares export against export: stage 2 and offline stage 3. Online, the cutover's live checks stay
  as they are (writes flow, and an export is minutes old when it is read).
- ``table-migration:compute: {kind: local | spark, master: …}`` (default ``local``): ``spark`` runs
  the transform and the export-against-export comparison on Apache Spark (the ``spark`` extra); its
  ``master`` defaults to ``local[*]``.

Chosen by config, never by size behind the user's back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import ConfigError

NAMESPACE = "table-migration"
VERIFY_METHODS = ("scan", "export")
COMPUTE_KINDS = ("local", "spark")
DEFAULT_MASTER = "local[*]"
# local, local[N], local[*], local[N,F] (F: task retries), yarn, or a cluster URL.
_MASTER = re.compile(r"^(local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?|yarn|(spark|k8s|mesos)://\S+)$")


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


@dataclass(frozen=True)
class Compute:
    """Where the transform and the export comparison run: this machine's processes, or Spark on ``master``."""

    kind: str = "local"
    master: str = DEFAULT_MASTER

    @property
    def spark(self) -> bool:
        return self.kind == "spark"

    def to_config(self) -> dict[str, str]:
        return {"kind": self.kind, "master": self.master}


@dataclass(frozen=True)
class DataOptions:
    """The verification method and the compute, as the stack config sets them."""

    verify_method: str = "scan"
    compute: Compute = Compute()

    @property
    def export_verify(self) -> bool:
        """Whether stage 2 and offline stage 3 verify export against export."""
        return self.verify_method == "export"


def parse_data_options(short: Mapping[str, Any]) -> DataOptions:
    """``verify`` and ``compute`` from config values keyed by short name; a ConfigError naming the key."""
    verify = _object(short.get("verify"), _key("verify"), fields=("method",))
    method = _choice(verify.get("method", "scan"), _key("verify") + ".method", VERIFY_METHODS)
    compute = _object(short.get("compute"), _key("compute"), fields=("kind", "master"))
    kind = _choice(compute.get("kind", "local"), _key("compute") + ".kind", COMPUTE_KINDS)
    master = _master(compute.get("master"), kind)
    return DataOptions(verify_method=method, compute=Compute(kind=kind, master=master))


MASTER_HINT = "Use local[*], local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT."


def is_master(master: str) -> bool:
    """Whether ``master`` has the form of a Spark master URL (local, spark://, yarn, k8s://, mesos://)."""
    return _MASTER.fullmatch(master) is not None


def _master(raw: Any, kind: str) -> str:
    config_key = _key("compute") + ".master"
    if raw is None or raw == "":
        return DEFAULT_MASTER
    if kind != "spark":
        raise ConfigError(config_key, "is set but compute.kind is not spark.", hint="Set compute.kind to spark.")
    if not is_master(str(raw)):
        raise ConfigError(config_key, f"{str(raw)!r} is not a Spark master.", hint=MASTER_HINT)
    return str(raw)


def _choice(raw: Any, config_key: str, allowed: tuple[str, ...]) -> str:
    value = raw if isinstance(raw, str) else json.dumps(raw)
    if value not in allowed:
        raise ConfigError(
            config_key,
            f"{value!r} is not one of {', '.join(allowed)}.",
            hint="See the README's config reference.",
        )
    return value


def _object(raw: Any, config_key: str, *, fields: tuple[str, ...]) -> Mapping[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, Mapping):
        raise ConfigError(
            config_key,
            "is not an object.",
            hint=f"Example: pulumi config set --path '{config_key}.{fields[0]}' …",
        )
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{config_key}.{unknown[0]}",
            "is not a setting of this object.",
            hint=f"Its settings are {', '.join(fields)}.",
        )
    return raw
