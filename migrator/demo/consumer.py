"""The simulated consumer: a Lambda writer that behaves on moto as it would on AWS around a freeze.

``migrate demo --write-rate R`` and the tests use it to write while the migration runs.

moto neither enforces reserved concurrency nor runs a function without Docker, and its
``LastUpdateStatus`` is always Successful. So for every request this writer reads the function's
configuration and reserved concurrency from moto, as a new execution environment would; while the
concurrency is 0 the request is throttled (nothing written, nothing acknowledged); otherwise it runs
the example's ``functions/hello_world/handler.py`` (found by :mod:`migrator.demo.project`) in this
process with the function's current environment (``TABLE_NAME`` included). The mix is 70% updates,
20% new items, 10% deletes, paced at ``rate`` requests per second from one thread: moto numbers
stream records without a lock, so concurrent writers to one table can get the same sequence number.
Every acknowledged write is logged, and :meth:`SimulatedConsumer.missing` reads the table they must
all be in.
"""

from __future__ import annotations

import importlib.util
import io
import random
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrator.core.canonical import canonical_item, key_bytes
from migrator.core.derive import Deriver
from migrator.data.aws import AwsSettings
from migrator.data.stream.replay_write import consistent_get
from migrator.demo.project import handler_path
from migrator.program.lambda_code import lambda_trust_policy

Item = dict[str, Any]


def load_handler() -> Any:
    """The example's ``functions/hello_world/handler.py`` as a module of its own (as Lambda loads it)."""
    name = "simulated_consumer_handler"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, handler_path())
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def create_writer_function(settings: AwsSettings, name: str, env: Mapping[str, str], *, timeout: int = 3) -> str:
    """Create the writer Lambda (and the IAM role moto requires) with the handler's code; return its ARN."""
    iam = settings.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=lambda_trust_policy())["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(handler_path(), "handler.py")
    created = settings.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=timeout,
        Environment={"Variables": dict(env)},
    )
    return created["FunctionArn"]


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: its order, action, legacy name, the table it went to and the item (None: deleted)."""

    n: int
    action: str
    name: str
    table: str
    item: Item | None
    at: float


@dataclass
class SimulatedConsumer:
    """Writes through the handler as the function named ``function`` is currently configured on moto."""

    settings: AwsSettings
    function: str
    names: Iterable[str]
    rate: float = 20.0
    seed: int = 0
    work_seconds: float = 0.0  # time between reading the configuration and writing (an invocation in flight)
    # Seconds a read of the function's configuration and concurrency is reused (0: read for every request).
    # Lambda applies a new concurrency or environment to invocations starting a moment later; a write made
    # with a state that old is an invocation in flight at the freeze, which the in-flight wait covers.
    state_ttl: float = 0.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    acks: list[Ack] = field(default_factory=list)
    throttled: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.live = list(self.names)
        self.rng = random.Random(self.seed)
        self.handler = load_handler()
        self.lambda_client = self.settings.client("lambda")
        self.dynamodb = self.settings.client("dynamodb")
        self.requests = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cached: tuple[float, dict[str, Any], dict[str, Any]] | None = None
        self._new = 0

    # --- one request ----------------------------------------------------------------------------

    def _event(self) -> tuple[str, dict[str, Any]]:
        roll = self.rng.random()
        if roll < 0.7 and self.live:
            name = self.rng.choice(self.live)
            return "update", {"name": name, "attributes": {"Score": self.requests, "Writer": "simulated"}}
        if roll < 0.9 or not self.live:
            self._new += 1
            name = f"w-{self.seed}-{self._new:05d}"
            return "insert", {"name": name, "attributes": {"Score": self.requests, "Writer": "simulated"}}
        return "delete", {"name": self.rng.choice(self.live), "action": "delete"}

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        now = self.clock()
        if self._cached is None or now - self._cached[0] >= self.state_ttl:
            config = self.lambda_client.get_function_configuration(FunctionName=self.function)
            concurrency = self.lambda_client.get_function_concurrency(FunctionName=self.function)
            self._cached = (now, config, concurrency)
        return self._cached[1], self._cached[2]

    def step(self) -> Ack | None:
        """One request: read the function as a new execution environment would, then write or be throttled."""
        self.requests += 1
        config, concurrency = self._state()
        if concurrency.get("ReservedConcurrentExecutions") == 0:
            self.throttled += 1  # Lambda answers 429: no invocation, nothing written
            return None
        settings = self.handler.Settings.from_env(config["Environment"]["Variables"])
        action, event = self._event()
        if self.work_seconds:
            self.sleep(self.work_seconds)
        result = self.handler.handle(self.dynamodb, settings, event)
        name = event["name"]
        if action == "delete":
            self.live.remove(name)
        elif action == "insert":
            self.live.append(name)
        ack = Ack(len(self.acks), action, name, result["table"], result["item"], self.clock())
        self.acks.append(ack)
        return ack

    def run(self, requests: int) -> None:
        """``requests`` requests, paced at ``rate`` per second."""
        next_at = self.clock()
        for _ in range(requests):
            if self._stop.is_set():
                return
            try:
                self.step()
            except Exception as e:  # kept for the test to assert on; the writer goes on, as a fleet would
                self.errors.append(f"{type(e).__name__}: {e}")
            next_at += 1.0 / self.rate
            self.sleep(max(0.0, next_at - self.clock()))

    # --- in the background ------------------------------------------------------------------------

    def start(self) -> SimulatedConsumer:
        self._thread = threading.Thread(target=self.run, args=(10**9,), name="simulated-consumer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> SimulatedConsumer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    # --- what the tables must hold ------------------------------------------------------------------

    def final_items(self, initial: Mapping[str, Item]) -> dict[str, Item]:
        """The legacy-shaped item of every name after the acknowledged writes (deleted names left out)."""
        state: dict[str, Item | None] = dict(initial)
        for ack in self.acks:
            state[ack.name] = ack.item
        return {name: item for name, item in state.items() if item is not None}

    def expected_new_items(self, initial: Mapping[str, Item], deriver: Deriver) -> dict[str, Item]:
        """Name → the item the new table must hold for it (the derive rules are idempotent on new items)."""
        return {name: deriver(item) for name, item in self.final_items(initial).items()}

    def missing(
        self, table: str, key_names: tuple[str, ...], deriver: Deriver, *, name_attribute: str = "Name"
    ) -> list[str]:
        """Names whose last acknowledged write is not what ``table`` holds, read consistently: an item that
        differs from the acknowledged one (through ``deriver``), is absent, or is there although deleted.

        The key of a deleted name is derived from the name alone (``deriver`` of ``{name_attribute: name}``).
        """
        last: dict[str, Item | None] = {}
        for ack in self.acks:
            last[ack.name] = ack.item
        wanted: dict[str, tuple[Item, Item | None]] = {}
        for name, item in last.items():
            expected = deriver(item) if item is not None else None
            keyed = expected if expected is not None else deriver({name_attribute: {"S": name}})
            wanted[name] = ({k: keyed[k] for k in key_names}, expected)
        found = consistent_get(self.dynamodb, table, [key for key, _ in wanted.values()], key_names)
        missing = []
        for name, (key, expected) in sorted(wanted.items()):
            got = found.get(key_bytes(key, key_names))
            if (got is None) != (expected is None) or (
                got is not None and expected is not None and canonical_item(got) != canonical_item(expected)
            ):
                missing.append(name)
        return missing
