"""notifier: policies, deadlines and campaigns delivered to the enterprises of industrial parks."""

__version__ = "0.1.0"
