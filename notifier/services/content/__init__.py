"""Content checks: what a text about to go out may not hold (docs: Content rules)."""
