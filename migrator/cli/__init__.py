"""``migrate``: thin commands over the library. Each parses, calls one library function, prints."""

from __future__ import annotations

from migrator.cli.app import app

# Importing the command modules registers their commands on ``app``.
from migrator.cli import export, transform, verify, stack, init  # noqa: E402,F401  isort: skip


def main() -> None:
    """Console-script entry point."""
    app()
