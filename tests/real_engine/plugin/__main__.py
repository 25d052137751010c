"""``python -m tests.real_engine.plugin``: what the ``pulumi-resource-aws`` shim runs."""

from tests.real_engine.plugin.server import main

if __name__ == "__main__":
    main()
