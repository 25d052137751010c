"""Checking a typer ``CliRunner`` result: the command ended on purpose, with the exit code the test expects.

``CliRunner.invoke`` catches any exception that escapes a command, prints nothing and reports exit
code 1, so a crash looks like a clean exit 1 and ``"Traceback" not in output`` can never fail. A
command that ends on purpose returns, or raises ``SystemExit`` (``typer.Exit``, a usage error):
:func:`no_crash` checks exactly that, and shows the traceback when it is not so.
"""

from __future__ import annotations

import traceback
from typing import Any


def no_crash(result: Any) -> Any:
    """Assert no exception escaped the command (only ``SystemExit``, which is how it exits on purpose)."""
    escaped = result.exception
    if escaped is not None and not isinstance(escaped, SystemExit):
        shown = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else repr(escaped)
        raise AssertionError(f"the command crashed instead of exiting:\n{shown}")
    return result


def exited(result: Any, code: int) -> Any:
    """Assert the command exited with ``code``, on purpose (see :func:`no_crash`); return the result."""
    no_crash(result)
    assert result.exit_code == code, f"exit {result.exit_code}, expected {code}\n{result.output}"
    return result
