"""Building blocks of a Pulumi program that migrates a table: the public API for your own programs.

``from migrator.program import MigratingTable, load_config`` is all a program needs; see the
README's "Migrating your own table".
"""

from ..core.config import MigrationConfig
from .config import StackConfigError, load_config
from .lambda_code import derive_assets
from .migrating_table import MigratingTable
from .provider import endpoint_provider, provider_options

__all__ = [
    "MigratingTable",
    "MigrationConfig",
    "StackConfigError",
    "derive_assets",
    "endpoint_provider",
    "load_config",
    "provider_options",
]
