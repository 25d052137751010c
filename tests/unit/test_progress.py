"""Progress lines at most 5 s apart (fake clocks), and the progress bar on a terminal."""

from __future__ import annotations

import io
import re
import threading

import pytest
from rich.console import Console

from migrator.cli.progress import BarMeters, terminal_meters
from migrator.data.progress import EVERY, TICK, LineMeters, rate_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_lines_come_at_most_5_seconds_apart_through_bursts_and_stalls() -> None:
    # Given a meter driven as the heartbeat drives it (a tick every TICK s) on a fake clock
    clock = FakeClock()
    lines: list[tuple[float, str]] = []
    meter = LineMeters(lambda line: lines.append((clock(), line)), clock=clock, tick=None)("verify: pass 1", 4000)
    # When items come in bursts, then nothing for 20 s, then more
    for step in range(int(60 / TICK)):
        clock.advance(TICK)
        if step < 20 or step > 60:
            meter.add(37)
        meter.tick()  # the heartbeat's call
    # Then no two lines (nor the start and the first line) are more than 5 s apart, and they carry the rate
    times = [0.0] + [t for t, _ in lines]
    assert max(gaps(times)) <= 5.0 and len(lines) >= 60 / 5
    assert all("items/s" in line for _, line in lines)
    assert "%" in lines[0][1] and "left" in lines[0][1]


def test_the_heartbeat_thread_prints_during_a_stall_with_no_item_moving() -> None:
    seen = threading.Event()
    meters = LineMeters(lambda _line: seen.set(), every=0.05, tick=0.01)
    meter = meters("transform", None)
    try:
        assert seen.wait(5.0), "no line while nothing moved"
    finally:
        meter.close()


def test_rate_text_with_and_without_a_total() -> None:
    assert rate_text(3000, 12000, 10.0) == "3,000/12,000 items (25%), 300 items/s, about 30s left"
    assert rate_text(3000, None, 10.0) == "3,000 items, 300 items/s"
    assert EVERY + TICK <= 5.0


def test_bar_meters_draw_a_bar_with_items_per_second_and_the_time_left() -> None:
    out = io.StringIO()
    meters = BarMeters(Console(file=out, force_terminal=True, width=120))
    meter = meters("verify: pass 1", 1000)
    for _ in range(10):
        meter.add(50)
    meter.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "verify: pass 1" in text and "500/1000" in text and "items/s" in text and "50%" in text


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize(("tty", "bars"), [(True, True), (False, False)])
def test_bars_on_a_terminal_plain_lines_otherwise(tty: bool, bars: bool) -> None:
    assert isinstance(terminal_meters(_Stream(tty)), BarMeters) is bars
