"""Providers: configured accounts of a kind (sms-gateway, smtp, ...) serving one channel.

Kinds are found through the ``notifier.providers`` entry points (see ``registry.py``).
"""
