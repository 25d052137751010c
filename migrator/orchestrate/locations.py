"""Where stage 1 and the export verifications put their files, and the idempotency tokens of those exports."""

from __future__ import annotations

import hashlib


def export_prefix(stack: str, table: str, attempt: int = 1) -> str:
    """Where stage 1 exports the legacy table; a retry after a failed export gets a folder of its own."""
    base = f"exports/{stack}/{table}/"
    return base if attempt <= 1 else f"{base}attempt-{attempt}/"


def transform_prefix(stack: str, table: str, attempt: int = 1) -> str:
    """Where stage 1 writes the export rewritten for the new table (its files go under ``data/``).

    A fresh export (after a failed one, or after ``down --stage 1``) is rewritten into a folder of its
    own, so it never mixes with the files of the previous one.
    """
    base = f"transformed/{stack}/{table}/"
    return base if attempt <= 1 else f"{base}attempt-{attempt}/"


def verify_export_prefix(stack: str, table: str, purpose: str, attempt: int = 1) -> str:
    """Where ``verify: {method: export}`` exports ``table`` for ``purpose`` (``new@2``, ``legacy@3``…)."""
    base = f"verify-exports/{stack}/{table}/{purpose.replace('@', '-stage-')}/"
    return base if attempt <= 1 else f"{base}attempt-{attempt}/"


def client_token(stack: str, table: str, attempt: int = 1) -> str:
    """The export's idempotency token: a rerun within 8 h gets the same export back from AWS."""
    return hashlib.sha256(f"table-migration\0{stack}\0{table}\0{attempt}".encode()).hexdigest()[:64]
