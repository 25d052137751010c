"""What a consumer Lambda is built from: the migrator's derive code as assets, and the role's trust policy.

A consumer that writes to the new table computes its key with the same rules the migration used
(``migrator.core.derive``). Those modules and their package files use the standard library only, so
they run in any Python Lambda runtime. The files are taken from the installed package, so the
archive is complete wherever the program runs (the repository, a copy of it, a Deployment).
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the installed ``migrator`` package
# What ``import migrator.core.derive`` loads: package markers first, then the modules.
DERIVE_FILES = ("__init__.py", "core/__init__.py", "core/errors.py", "core/derive.py")


def derive_assets() -> dict[str, pulumi.Asset | pulumi.Archive]:
    """Archive path → asset for the files ``import migrator.core.derive`` needs, to merge into a Lambda archive."""
    return {f"migrator/{rel}": pulumi.FileAsset(str(PACKAGE_DIR / rel)) for rel in DERIVE_FILES}


def lambda_trust_policy() -> str:
    """The assume-role policy (JSON) of a Lambda function's execution role: the Lambda service may assume it."""
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
