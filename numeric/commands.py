"""The numeric commands, registered into ``gradproof`` through the ``gradproof.commands`` entry point."""


def register(subparsers) -> None:
    """No numeric commands yet."""
