"""The working-day calendar the district maintains."""
