"""The stack's config, AWS and the clock as the orchestration reaches them: built once, each read on first use."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from migrator.core.config import parse_config
from migrator.core.data_config import Compute
from migrator.core.ports import Progress, StackPort
from migrator.data.aws import AwsSettings
from migrator.data.dataplane import AwsDataPlane, DataPlane
from migrator.data.stream.reader import streams_client


class StackConfig:
    """The stack's config, read from the Pulumi CLI once per command; writes go to the stack and the copy.

    Each read is a CLI process, so a command reads the config once (:meth:`forget` starts the next
    command afresh) and every change the migrator makes goes through here, keeping the copy current.
    """

    def __init__(self, stack: StackPort) -> None:
        self._stack = stack
        self._values: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The stack's name."""
        return self._stack.name

    def get_config(self) -> dict[str, Any]:
        """The config (short keys, objects decoded), read on first use within a command."""
        if self._values is None:
            self._values = dict(self._stack.get_config())
        return dict(self._values)

    def set_config(self, values: Mapping[str, Any]) -> None:
        """Set short keys on the stack, and in the copy."""
        self._stack.set_config(values)
        if self._values is not None:
            self._values.update(values)

    def remove_config(self, keys: Iterable[str]) -> None:
        """Remove short keys from the stack, and from the copy."""
        keys = list(keys)
        self._stack.remove_config(keys)
        for name in keys:
            if self._values is not None:
                self._values.pop(name, None)

    def forget(self) -> None:
        """Read the config again on next use (a new command)."""
        self._values = None


class AwsAccess:
    """Where AWS calls go and the clients that make them, built on first use from the stack config."""

    def __init__(
        self,
        config: StackConfig,
        *,
        settings: AwsSettings | None = None,
        data: DataPlane | None = None,
        progress: Progress,
    ) -> None:
        self._config = config
        self._settings = settings
        self._data = data
        self._progress = progress
        self._clients: dict[str, Any] = {}
        self._compute: Compute | None = None

    def settings(self) -> AwsSettings:
        """The region and endpoint: given, else the stack config's ``aws:region`` and ``endpoint``."""
        if self._settings is None:
            # Stage 0's rules: the region and endpoint are all that is needed here (no importSource yet).
            config = parse_config({**self._config.get_config(), "stage": "0"})
            self._settings = AwsSettings.resolve(region=config.region, endpoint_url=config.endpoint)
            self._compute = config.data.compute
        return self._settings

    def client(self, service: str) -> Any:
        """One client per service (the Streams client parses GetRecords with orjson)."""
        if service not in self._clients:
            settings = self.settings()
            made = streams_client(settings) if service == "dynamodbstreams" else settings.client(service)
            self._clients[service] = made
        return self._clients[service]

    def data_plane(self) -> DataPlane:
        """The data plane: given, else :class:`AwsDataPlane` on :meth:`settings` and the config's ``compute``."""
        if self._data is None:
            settings = self.settings()
            compute = self._compute or parse_config({**self._config.get_config(), "stage": "0"}).data.compute
            self._data = AwsDataPlane(settings, progress=self._progress, compute=compute)
        return self._data


@dataclass(frozen=True)
class Clock:
    """The time as the record writes it (``now``), and the wall clock and sleep of the stream replays."""

    now_seconds: Callable[[], float] = time.time
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def now(self) -> str:
        """The current time, ISO 8601 in UTC to the second."""
        return datetime.fromtimestamp(self.now_seconds(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
