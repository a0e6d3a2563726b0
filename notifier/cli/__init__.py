"""The ``notifier`` command, one module per command group."""
