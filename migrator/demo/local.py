"""``migrate demo``: a local rehearsal of the whole migration that needs no AWS account.

It starts a moto server in this process (127.0.0.1, a free port), copies the Pulumi project into a
throwaway folder with a file backend and a passphrase (so the repository gets no stack files), makes
stack ``demo`` with the README's example config pointed at moto, applies stage 0, seeds ``MyTable``,
starts the simulated consumer (:mod:`migrator.demo.consumer`: 70% updates, 20% new items, 10% deletes at
``write_rate`` requests a second, through the stack's own function), runs stages 1→4 online while it
writes, and returns the final report with the writes acknowledged and any missing from the new table.
The Pulumi engine itself is real: without the ``pulumi`` CLI the demo installs the one matching the SDK
(``PulumiCommand.install()``), or, with ``--no-install`` or no network, stops before starting anything
and says how to get it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.core.derive import Deriver, parse_rules
from migrator.core.errors import BadInputError, PulumiNotInstalledError
from migrator.core.ports import Progress
from migrator.data.aws import AwsSettings, aws_errors
from migrator.data.dataplane import AwsDataPlane
from migrator.demo.project import project_source, write_project
from migrator.orchestrate.migration import Migration
from migrator.report.results import freeze_line, report_text

StackFactory = Callable[..., Any]  # (stack, work_dir, *, create, env) -> StackPort

DEMO_STACK = "demo"
DEMO_REGION = "us-east-1"
LEGACY_TABLE = "MyTable"
NEW_TABLE = "MyNewTable"
TTL = "ExpiresAt"
# The demo table's global secondary index; the new table inherits it, and the final report shows it there.
DEMO_INDEX = {
    "name": "ByScore",
    "partitionKey": {"name": "Score", "type": "N"},
    "sortKey": {"name": "Created", "type": "N"},
    "projection": "KEYS_ONLY",
}
PULUMI_MISSING = (
    "the demo drives the real Pulumi engine; the pulumi CLI is not installed: install it with "
    "`curl -fsSL https://get.pulumi.com | sh` (or `brew install pulumi`), or, where the network allows, "
    "`python -c 'from migrator.api import install_pulumi_cli; install_pulumi_cli()'`, "
    "then run `migrate demo` again. Nothing was started."
)


def demo_config(endpoint: str) -> dict[str, Any]:
    """The README's example at stage 0 (MyTable Name:S → MyNewTable UUID:S, UUID = uuid5(Name)) on ``endpoint``,
    with a global secondary index on Score and Created that the new table inherits."""
    return {
        "aws:region": DEMO_REGION,
        "stage": "0",
        "legacyTable": {
            "name": LEGACY_TABLE,
            "partitionKey": {"name": "Name", "type": "S"},
            "ttlAttribute": "ExpiresAt",
            # Every sample item has a Score and a Created time: "the items with score N, oldest first".
            "globalSecondaryIndexes": [DEMO_INDEX],
        },
        "newTable": {"name": NEW_TABLE, "partitionKey": {"name": "UUID", "type": "S"}, "ttlAttribute": "ExpiresAt"},
        "derive": {"UUID": "uuid5(Name)"},
        "endpoint": endpoint,
    }


def sample_item(i: int) -> dict[str, Any]:
    """Sample item ``i`` of the legacy table, in DynamoDB JSON."""
    item: dict[str, Any] = {
        "Name": {"S": f"user-{i:06d}"},
        "Created": {"N": str(1_700_000_000 + i)},
        "Score": {"N": str(i % 1000)},
        "Tags": {"SS": [f"t{i % 3}", f"t{i % 5 + 3}"]},
        "Active": {"BOOL": i % 2 == 0},
        "ExpiresAt": {"N": str(4_000_000_000 + i)},
    }
    if i % 4 == 0:
        item["Profile"] = {"M": {"city": {"S": f"city-{i % 17}"}, "visits": {"N": str(i % 9)}}}
    return item


def seed_items(dynamodb: Any, table: str, count: int, *, progress: Progress | None = None) -> int:
    """Write ``count`` sample items to ``table`` with BatchWriteItem; return how many were written."""
    for start in range(0, count, 25):
        pending: dict[str, Any] = {
            table: [{"PutRequest": {"Item": sample_item(i)}} for i in range(start, min(start + 25, count))]
        }
        while pending:
            with aws_errors(f"seed table {table}", what=f"table {table}"):
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if progress and (start + 25) % 10_000 < 25:
            progress(f"  seeded {min(start + 25, count)} of {count} items")
    return count


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: items seeded, stages run, the final report, how long each part took, and the
    consumer's writes (``acknowledged``, ``missing`` from the new table, ``throttled`` by the freeze)."""

    items: int
    stages: tuple[int, ...]
    report: Mapping[str, Any]
    seconds: Mapping[str, float] = field(default_factory=dict)
    writes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No acknowledged write is missing from the new table."""
        return not self.writes.get("missing")

    def problem(self) -> str:
        """What went wrong, when not :attr:`ok`."""
        return (
            f"{self.writes.get('missing')} acknowledged write(s) are not in {NEW_TABLE} "
            f"(e.g. {list(self.writes.get('missingSamples') or [])[:5]}): the online migration lost them."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "stages": list(self.stages),
            "freeze": dict(self.report.get("freeze") or {"seconds": None}),
            "writes": dict(self.writes),
            "catchUp": dict(self.report.get("catchUp") or {"recordsReplayed": 0}),
            "report": dict(self.report),
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }

    def text(self) -> str:
        times = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        lines = [f"Demo: {self.items} items migrated through stages 0→4 ({times})."]
        if self.writes:
            w = self.writes
            lines.append(
                f"Writes during the migration: {w.get('acknowledged', 0)} acknowledged at {w.get('rate')} requests/s "
                f"({w.get('throttled', 0)} throttled while the writers were frozen); {w.get('missing', 0)} missing "
                f"from {NEW_TABLE}."
            )
        if self.report.get("freeze"):
            lines.append(freeze_line(self.report["freeze"]))
        return "\n".join([*lines, report_text(self.report)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in this process on 127.0.0.1 and a free port; yields its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as e:
        raise BadInputError(
            "The demo needs moto's server, which is not installed.", hint="Install it: pip install '.[demo]'."
        ) from e
    port = _free_port()
    # The server's HTTP log would print one line per AWS call between the demo's progress lines.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        access_log.setLevel(level)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    # boto3 in this process and the Pulumi engine's children both read these.
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _pulumi_stack(stack: str, work_dir: Path, *, create: bool, env: Mapping[str, str]) -> Any:
    from migrator.engine.workspace import PulumiWorkspace

    return PulumiWorkspace.open(stack=stack, work_dir=work_dir, create=create, env=env)


def require_pulumi_cli(*, install: bool = False, progress: Progress | None = None) -> None:
    """Make sure the ``pulumi`` CLI is here; with ``install``, install the one matching the SDK when it is not.

    Installing is ``PulumiCommand.install()`` (the SDK's own installer, into ``~/.pulumi/versions/<version>``),
    announced in one line. Without ``install``, or when the download fails (no network), raise
    :class:`PulumiNotInstalledError` (exit 2) with how to get the CLI, leaving nothing behind.
    """
    from migrator.engine.cli_lookup import default_install_root
    from migrator.engine.workspace import find_pulumi_cli, install_pulumi_cli

    if find_pulumi_cli() is not None:
        return
    if not install:
        raise PulumiNotInstalledError(PULUMI_MISSING)
    root = default_install_root()
    created = next((p for p in reversed([root, *root.parents]) if not p.exists()), None)  # the first we'd make
    (progress or (lambda _message: None))(
        f"The pulumi CLI is not installed: installing Pulumi {root.name} into {root} (PulumiCommand.install())."
    )
    try:
        install_pulumi_cli(root)
    except PulumiNotInstalledError:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise PulumiNotInstalledError(PULUMI_MISSING) from None


def run_demo(
    *,
    items: int = 1000,
    write_rate: float = 20.0,
    progress: Progress | None = None,
    open_stack: StackFactory | None = None,
    lock_dir: Path | None = None,
    install: bool = True,
) -> DemoResult:
    """Run the local rehearsal; return the final report and what the simulated consumer wrote meanwhile.

    ``write_rate`` requests a second (0: no consumer, nothing written during the migration).

    ``open_stack(stack, work_dir, *, create, env)`` builds the stack; by default the real Pulumi
    workspace, which needs the ``pulumi`` CLI: checked first, and installed when missing unless
    ``install`` is False (then, or when the download fails, nothing is started).
    """
    say = progress or (lambda _message: None)
    if items < 1:
        raise BadInputError(f"--items {items} is not a positive number.", hint="Pass --items 1 or more.")
    if not write_rate >= 0:
        raise BadInputError(f"--write-rate {write_rate} is not 0 or more.", hint="Pass e.g. --write-rate 20.")
    source = project_source()  # before the CLI: a package without the example project fails first
    if open_stack is None:
        require_pulumi_cli(install=install, progress=say)
        open_stack = _pulumi_stack
    with tempfile.TemporaryDirectory(prefix="migrate-demo-") as tmp, moto_server() as endpoint:
        root = Path(tmp)
        env = _demo_env(root)
        with _environment(env):
            project = write_project(root / "project", source=source)
            say(f"Demo: moto at {endpoint}, project and file backend in {root} (removed at the end).")
            stack = open_stack(DEMO_STACK, project, create=True, env=env)
            stack.set_config(demo_config(endpoint))
            settings = AwsSettings(region=DEMO_REGION, endpoint_url=endpoint)
            # moto finishes exports and imports at once: poll every second, not every ten.
            data = AwsDataPlane(settings, progress=say, poll_seconds=1.0)
            migration = Migration(
                stack, aws=settings, progress=say, data=data, lock_scope=str(project), lock_dir=lock_dir
            )
            result, seconds, writes = _run_stages(migration, settings, items, write_rate, say)
    return DemoResult(
        items=items, stages=(0, 1, 2, 3, 4), report=dict(result.report or {}), seconds=seconds, writes=writes
    )


def _demo_env(root: Path) -> dict[str, str]:
    """The environment of the demo's engine and clients: a file backend under ``root``, moto's credentials."""
    (root / "backend").mkdir()
    return {
        "PULUMI_BACKEND_URL": (root / "backend").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "migrate-demo",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": DEMO_REGION,
        "AWS_DEFAULT_REGION": DEMO_REGION,
    }


def _run_stages(
    migration: Migration, settings: AwsSettings, items: int, write_rate: float, say: Progress
) -> tuple[Any, dict[str, float], dict[str, Any]]:
    """Stage 0, the seed, then stages 1-4 while the consumer writes: the last result, the timings, the writes."""
    seconds: dict[str, float] = {}
    clock = time.monotonic()
    function = migration.up(0).outputs.get("consumerFunctionName")
    seconds["stage 0"] = time.monotonic() - clock
    clock = time.monotonic()
    say(f"Seeding {LEGACY_TABLE} with {items} items.")
    seed_items(settings.client("dynamodb"), LEGACY_TABLE, items, progress=say)
    seconds["seed"] = time.monotonic() - clock
    consumer = _consumer(settings, str(function), items, write_rate, say)
    try:
        for stage in (1, 2, 3, 4):
            clock = time.monotonic()
            result = migration.up(stage)
            seconds[f"stage {stage}"] = time.monotonic() - clock
    finally:
        if consumer is not None:
            consumer.stop()
    return result, seconds, _writes(consumer, write_rate)


def _consumer(settings: AwsSettings, function: str, items: int, rate: float, say: Progress) -> Any:
    """The simulated consumer writing through the demo stack's function, started; None at rate 0."""
    if rate <= 0:
        return None
    from migrator.demo.consumer import SimulatedConsumer

    say(f"The simulated consumer writes through {function} at {rate:g} requests/s from now to the end.")
    names = [sample_item(i)["Name"]["S"] for i in range(items)]
    return SimulatedConsumer(settings, function, names, rate=rate).start()


def _writes(consumer: Any, rate: float) -> dict[str, Any]:
    """The consumer's acknowledged writes, and those the new table does not hold as acknowledged."""
    if consumer is None:
        return {"acknowledged": 0, "missing": 0, "throttled": 0, "rate": rate}
    deriver = Deriver(parse_rules(demo_config("")["derive"]))
    missing = consumer.missing(NEW_TABLE, ("UUID",), deriver, name_attribute="Name")
    return {
        "acknowledged": len(consumer.acks),
        "missing": len(missing),
        "missingSamples": missing[:10],
        "throttled": consumer.throttled,
        "errors": consumer.errors[:10],
        "rate": rate,
    }
