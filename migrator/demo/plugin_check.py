"""``migrate demo --no-install``: refuse before starting anything when the aws provider plugin is missing.

Without it the engine would try to download the plugin at the demo's first preview, after the moto
server, the project and the stack were made; with ``--no-install`` (no network, or none wanted) the
demo says so first. With installs allowed the engine's own download stays the normal path.
"""

from __future__ import annotations

from migrator.core.errors import PulumiNotInstalledError


def require_aws_plugin() -> None:
    """Raise :class:`PulumiNotInstalledError` (exit 2) naming the install command when the plugin is missing."""
    from migrator.engine.cli_lookup import find_pulumi_cli
    from migrator.engine.plugins import aws_plugin_version, has_resource_plugin

    cli, version = find_pulumi_cli(), aws_plugin_version()
    if cli is None or version is None or has_resource_plugin(cli, "aws", version) is not False:
        return
    raise PulumiNotInstalledError(
        f"The demo drives the real Pulumi engine, which needs the aws provider plugin {version} (the version the "
        "installed pulumi_aws asks for); it is not installed, and --no-install keeps the engine from downloading "
        "it. Nothing was started.",
        hint=f"Install it with `pulumi plugin install resource aws {version}` (or run `migrate demo` without "
        "--no-install, where the network allows), then run the demo again.",
    )
