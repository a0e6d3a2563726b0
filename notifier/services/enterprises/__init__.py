"""Enterprises: register imports, listings, and what a firm chooses for itself."""
