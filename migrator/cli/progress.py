"""Progress of the data-plane commands on a terminal: a bar with items/s and the time left (rich).

Off a terminal (a pipe, a CI log) the steps print plain lines instead, at most a few seconds apart
(:class:`migrator.data.progress.LineMeters`). rich comes with typer.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from migrator.data.progress import Meter, Meters


class ItemsPerSecond(ProgressColumn):
    """The rate of a task in items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} items/s" if speed else "… items/s", style="progress.data.speed")


class BarMeters:
    """:class:`~migrator.data.progress.Meters` drawn as rich progress bars on ``console`` (stderr)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            ItemsPerSecond(),
            TimeRemainingColumn(),
            console=console,
            redirect_stdout=False,  # stdout carries the --json document
        )
        self._open = 0

    def __call__(self, label: str, total: int | None) -> Meter:
        if self._open == 0:
            self._progress.start()
        self._open += 1
        return _Bar(self, self._progress.add_task(label, total=total))

    def _advance(self, task: TaskID, items: int) -> None:
        self._progress.advance(task, items)

    def _close(self, task: TaskID) -> None:
        self._progress.stop_task(task)
        self._open -= 1
        if self._open == 0:
            self._progress.stop()


class _Bar:
    def __init__(self, owner: BarMeters, task: TaskID) -> None:
        self._owner, self._task, self._closed = owner, task, False

    def add(self, items: int) -> None:
        self._owner._advance(self._task, items)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner._close(self._task)


def terminal_meters(stream: IO[Any] | Any) -> Meters | None:
    """Bars when ``stream`` (stderr) is a terminal; None (plain lines) otherwise."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return None
    return BarMeters(Console(file=stream))
