"""The staff console: server-rendered pages under ``/console/``."""
