"""Stack tests: the program under Pulumi's mocks (see harness.py)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns about its own deprecated v2 resource modules as soon as pulumi_aws.s3 is
    # imported, whichever resources a program uses.
    config.addinivalue_line("filterwarnings", r"ignore:.*deprecated in favor of.*:DeprecationWarning:pulumi_aws\.")
