"""Approval before a mass send: what needs it, the frozen preview, the request, the decision."""
