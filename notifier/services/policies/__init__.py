"""Policies: publish, preview, revise (更正), withdraw."""
