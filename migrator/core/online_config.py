"""Online-migration settings in stack config: ``online``, ``writers``, ``freezeHook``, ``catchUp``. Pure.

- ``table-migration:online`` (default true): replay the legacy table's stream and freeze the writers
  for seconds at cutover; false keeps the write-stop mode with its drift check.
- ``table-migration:writers``: the Lambda functions that write the legacy table, as
  ``[{function: NAME, env: VAR}]`` (``env`` defaults to ``TABLE_NAME``). Absent: the stack's
  ``consumerFunctionName`` output with ``TABLE_NAME``.
- ``table-migration:freezeHook``: ``module:function`` called as ``function(action, context)`` with
  action ``"freeze"`` or ``"unfreeze"``, for writers that are not Lambda functions.
- ``table-migration:catchUp``: ``{maxLagSeconds: 2, quietSeconds: 0.3}``; the lag in (0, 3600] seconds, the
  quiet time in (0, 60].
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import BadInputError, ConfigError

NAMESPACE = "table-migration"
DEFAULT_ENV = "TABLE_NAME"
FreezeHook = Callable[[str, Mapping[str, Any]], Any]

# A function name, or its unqualified ARN: reserved concurrency and the environment belong to the
# function itself, and a version's environment is frozen when it is published (so no ":alias").
_FUNCTION = re.compile(r"^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HOOK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
_CATCH_UP_FIELDS = {"maxLagSeconds": "max_lag_seconds", "quietSeconds": "quiet_seconds"}
# A lag of an hour is no longer a cutover "seconds behind", and the freeze waits for a quiet stream of at most a
# minute: larger values are mistakes (a unit typed wrong), not settings.
MAX_LAG_LIMIT = 3600.0
QUIET_LIMIT = 60.0
_CATCH_UP_LIMITS = {"maxLagSeconds": MAX_LAG_LIMIT, "quietSeconds": QUIET_LIMIT}


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


@dataclass(frozen=True)
class Writer:
    """A Lambda function that writes the legacy table, and the environment variable naming its table."""

    function: str
    env: str = DEFAULT_ENV

    def to_config(self) -> dict[str, str]:
        return {"function": self.function, "env": self.env}


QUIET_SECONDS = 0.3  # the default catchUp.quietSeconds


@dataclass(frozen=True)
class CatchUp:
    """Thresholds of the replay: the lag under which it counts as caught up, and how long quiet is."""

    max_lag_seconds: float = 2.0
    # 1.0 until 0.4: a write that outlives the in-flight wait no longer overwrites a newer one (it is checked
    # against the new table since the flip: migrator.core.conflicts), so the freeze need not wait that long.
    quiet_seconds: float = QUIET_SECONDS

    def to_config(self) -> dict[str, float]:
        return {"maxLagSeconds": self.max_lag_seconds, "quietSeconds": self.quiet_seconds}


@dataclass(frozen=True)
class OnlineConfig:
    """The online-migration settings; ``writers`` is None when the config names none (the default applies)."""

    online: bool = True
    writers: tuple[Writer, ...] | None = None
    freeze_hook: str | None = None
    catch_up: CatchUp = CatchUp()

    def resolve_writers(self, consumer_function: str | None) -> tuple[Writer, ...]:
        """The writers to freeze: the configured ones, else the stack's ``consumerFunctionName`` output."""
        if self.writers is not None:
            return self.writers
        if not consumer_function:
            raise ConfigError(
                _key("writers"),
                "is not set and the stack has no consumerFunctionName output to default to.",
                hint="List the functions that write the legacy table: writers: [{function: NAME, env: TABLE_NAME}] "
                "(for other writers, table-migration:freezeHook; or online: false to stop the writes yourself "
                "for the whole migration).",
            )
        return (Writer(consumer_function),)


def parse_online(short: Mapping[str, Any]) -> OnlineConfig:
    """The online settings from config values keyed by short name (``online``, ``writers``…)."""
    writers = _writers(short.get("writers"))
    hook = _hook(short.get("freezeHook"))
    if writers == () and hook is None:
        raise ConfigError(
            _key("writers"),
            "is an empty list and no freezeHook is set: nothing would stop the writes during cutover.",
            hint="Name the functions that write the legacy table, or set table-migration:freezeHook.",
        )
    return OnlineConfig(
        online=_bool(short.get("online"), _key("online"), default=True),
        writers=writers,
        freeze_hook=hook,
        catch_up=_catch_up(short.get("catchUp")),
    )


def load_freeze_hook(spec: str | None) -> FreezeHook | None:
    """Import the ``module:function`` of ``freezeHook``; None when no hook is set (``spec`` None or empty); a
    :class:`ConfigError` (exit 2) when it cannot be used."""
    if not spec:
        return None
    config_key = _key("freezeHook")
    module_name, _, func_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(
            config_key,
            f"cannot import {module_name} ({e}).",
            hint="Check the module name and that it is on PYTHONPATH where the migrator runs.",
        ) from None
    except Exception as e:  # the user's module failed while it was imported: report its error, not ours
        raise ConfigError(
            config_key,
            f"importing {module_name} raised {type(e).__name__}: {e}.",
            hint="Fix that module so that it imports cleanly where the migrator runs.",
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigError(
            config_key,
            f"{module_name} has no function {func_name}.",
            hint="Name a function taking (action, context), e.g. mypkg.writers:freeze.",
        )
    return func


def _parsed(raw: Any) -> Any:
    # Pulumi's config hands objects and lists to the migrator as JSON text.
    if isinstance(raw, str) and raw.strip()[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _bool(raw: Any, config_key: str, *, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(
        config_key,
        f"{raw!r} is not true or false.",
        hint=f"Set it with `pulumi config set {config_key} false` (true is the default).",
    )


def _writers(raw: Any) -> tuple[Writer, ...] | None:
    config_key = _key("writers")
    raw = _parsed(raw)
    if raw is None or raw == "":
        return None
    hint = "Give a list such as [{function: MyFunction, env: TABLE_NAME}] (env defaults to TABLE_NAME)."
    if not isinstance(raw, list):
        raise ConfigError(config_key, "is not a list.", hint=hint)
    writers: list[Writer] = []
    for n, entry in enumerate(raw):
        where = f"{config_key}[{n}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(where, "is not an object.", hint=hint)
        unknown = sorted(set(entry) - {"function", "env"})
        if unknown:
            raise ConfigError(where, f"has unknown field(s) {', '.join(unknown)}.", hint=hint)
        function = str(entry.get("function") or "").strip()
        if not _FUNCTION.fullmatch(function):
            raise ConfigError(
                where + ".function",
                f"{function!r} is not a Lambda function name or unqualified ARN.",
                hint="Use the function's name (1-64 letters, digits, '-' or '_'), without a version or alias.",
            )
        env = str(entry.get("env") or DEFAULT_ENV).strip()
        if not _ENV_NAME.fullmatch(env):
            raise ConfigError(
                where + ".env",
                f"{env!r} is not an environment variable name.",
                hint="Use letters, digits and '_', starting with a letter (default TABLE_NAME).",
            )
        if any(w.function == function for w in writers):
            raise ConfigError(where + ".function", f"{function} is listed twice.", hint="Keep one entry per function.")
        writers.append(Writer(function, env))
    return tuple(writers)


def _hook(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not _HOOK.fullmatch(text):
        raise ConfigError(
            _key("freezeHook"),
            f"{text!r} is not module:function.",
            hint="Example: freezeHook: mypkg.writers:freeze (called with action 'freeze' or 'unfreeze').",
        )
    return text


def _catch_up(raw: Any) -> CatchUp:
    config_key = _key("catchUp")
    raw = _parsed(raw)
    if raw is None or raw == "":
        return CatchUp()
    hint = "Give it as {maxLagSeconds: 2, quietSeconds: 0.3}."
    if not isinstance(raw, Mapping):
        raise ConfigError(config_key, "is not an object.", hint=hint)
    unknown = sorted(set(raw) - set(_CATCH_UP_FIELDS))
    if unknown:
        raise ConfigError(config_key, f"has unknown field(s) {', '.join(unknown)}.", hint=hint)
    values: dict[str, float] = {}
    for name, attribute in _CATCH_UP_FIELDS.items():
        if name not in raw:
            continue
        number = seconds_in_bounds(raw[name], _CATCH_UP_LIMITS[name])
        if number is None:
            raise ConfigError(
                f"{config_key}.{name}",
                f"{raw[name]!r} is not a number of seconds above 0 and at most {_CATCH_UP_LIMITS[name]:g}.",
                hint=hint,
            )
        values[attribute] = number
    return CatchUp(**values)


def seconds_in_bounds(raw: Any, upper: float) -> float | None:
    """``raw`` as a number of seconds in (0, ``upper``]; None when it is not one (text, inf, nan, a bool)."""
    if isinstance(raw, bool):
        return None
    try:
        number = float(str(raw).strip())
    except ValueError:
        return None
    # NaN fails both comparisons, infinity the upper one.
    return number if 0 < number <= upper else None


def check_max_lag(value: float | None, *, option: str = "--max-lag") -> float | None:
    """``catch-up``'s ``--max-lag`` (None: the config's ``catchUp.maxLagSeconds``), bounded as that key is;
    a :class:`BadInputError` (exit 2) naming ``option`` otherwise."""
    if value is None:
        return None
    number = seconds_in_bounds(value, MAX_LAG_LIMIT)
    if number is None:
        raise BadInputError(
            f"{option} {value} is not a number of seconds above 0 and at most {MAX_LAG_LIMIT:g}.",
            hint=f"Pass e.g. {option} 2, or leave it out to use table-migration:catchUp.maxLagSeconds.",
        )
    return number
