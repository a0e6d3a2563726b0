"""Delivery: fan a trigger out into rows, send them in batches, follow, retry, sweep and forget."""
