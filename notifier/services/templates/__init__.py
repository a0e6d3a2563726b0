"""Stored message templates: saving a version (audited)."""
