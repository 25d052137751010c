"""Progress of long data-plane work: counts of items done, reported at most :data:`EVERY` seconds apart.

A step asks its :class:`Meters` for a :class:`Meter` per phase ("verify: pass 1", "transform") with the
total when it is known, and adds items as they are done. :class:`LineMeters` turns that into plain
lines through the step's ``progress`` callback (for logs and pipes): one at least every
:data:`EVERY` seconds while the phase runs, even when no item moved (a heartbeat thread wakes every
:data:`TICK` seconds), with items/s and, when the total is known, the share done and the time left.
The CLI gives a progress bar instead on a terminal (:mod:`migrator.cli.progress`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from migrator.core.ports import Progress

Clock = Callable[[], float]

EVERY = 4.0  # seconds between lines; with TICK, no two lines are more than 4.5 s apart
TICK = 0.5


class Meter(Protocol):
    """One phase of work: items are added as they are done; ``close`` ends it."""

    def add(self, items: int) -> None: ...

    def close(self) -> None: ...


class Meters(Protocol):
    """Makes the meter of each phase."""

    def __call__(self, label: str, total: int | None) -> Meter: ...


def rate_text(done: int, total: int | None, seconds: float) -> str:
    """``12,000/40,000 items (30%), 3,000 items/s, about 9s left`` (without total: no share, no time left)."""
    rate = done / seconds if seconds > 0 else 0.0
    if total:
        share = f"{done:,}/{total:,} items ({min(done, total) * 100 // total}%)"
        left = f", about {_duration((total - done) / rate)} left" if rate > 0 and done < total else ""
        return f"{share}, {rate:,.0f} items/s{left}"
    return f"{done:,} items, {rate:,.0f} items/s"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class LineMeter:
    """A phase reported as plain lines: at most every ``every`` seconds, whenever work arrives or ``tick``."""

    def __init__(self, label: str, total: int | None, say: Progress, *, clock: Clock, every: float = EVERY) -> None:
        self.label, self.total, self._say, self._clock, self._every = label, total, say, clock, every
        self.done = 0
        self._lock = threading.Lock()
        self._started = self._last = clock()

    def add(self, items: int) -> None:
        with self._lock:
            self.done += items
        self.tick()

    def tick(self) -> None:
        """Print a line if the last one is ``every`` seconds old (the heartbeat calls this too)."""
        with self._lock:
            now = self._clock()
            if now - self._last < self._every:
                return
            self._last = now
            line = f"{self.label}: {rate_text(self.done, self.total, now - self._started)}"
        self._say(line)

    def close(self) -> None:
        return None  # the phase's own summary line follows; no line of ours is needed


class LineMeters:
    """:class:`Meters` that print lines through ``say``; a heartbeat thread keeps them coming during stalls.

    ``clock`` and ``tick`` are for tests (a fake clock; ``tick=None`` leaves the heartbeat out).
    """

    def __init__(
        self, say: Progress, *, clock: Clock = time.monotonic, every: float = EVERY, tick: float | None = TICK
    ) -> None:
        self._say, self._clock, self._every, self._tick = say, clock, every, tick

    def __call__(self, label: str, total: int | None) -> Meter:
        meter = LineMeter(label, total, self._say, clock=self._clock, every=self._every)
        return meter if self._tick is None else _Heartbeat(meter, self._tick)


class _Heartbeat:
    """Runs ``meter.tick`` every ``interval`` seconds on a daemon thread until closed."""

    def __init__(self, meter: LineMeter, interval: float) -> None:
        self._meter = meter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="progress", daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._meter.tick()

    def add(self, items: int) -> None:
        self._meter.add(items)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._meter.close()


def quiet_meters(_label: str, _total: int | None) -> Meter:
    """Meters for callers that asked for no progress."""
    return _Quiet()


class _Quiet:
    def add(self, items: int) -> None:
        return None

    def close(self) -> None:
        return None


def meters_for(progress: Progress | None, meters: Meters | None) -> Meters:
    """The meters a step uses: the ones given, else lines through ``progress``, else none."""
    if meters is not None:
        return meters
    return LineMeters(progress) if progress is not None else quiet_meters
