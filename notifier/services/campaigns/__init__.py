"""Campaigns: made from a checked file, their runs, pause, resume, cancel, preview."""
