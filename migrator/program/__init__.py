"""Building blocks of a Pulumi program that migrates a table: the public API for your own programs.

``from migrator.program import MigratingTable, load_config`` is all a program needs; see the
README's "Migrating your own table".
"""

from migrator.core.config import MigrationConfig
from migrator.program.config import StackConfigError, load_config
from migrator.program.lambda_code import derive_assets, lambda_trust_policy
from migrator.program.migrating_table import MigratingTable
from migrator.program.provider import endpoint_provider, provider_options

__all__ = [
    "MigratingTable",
    "MigrationConfig",
    "StackConfigError",
    "derive_assets",
    "endpoint_provider",
    "lambda_trust_policy",
    "load_config",
    "provider_options",
]
