"""Reach: what a firm does about a policy on its own page (opened, confirmed, done, not
applicable, a question)."""
