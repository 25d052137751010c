"""The Pulumi program: the example application at the stage in stack config (see stacks/app.py)."""

from stacks.app import main

main()
