"""Guards that count and trip: provider circuits and limits, per-endpoint limits, sign-in
throttling; each written once over one backend interface (memory or Redis, ``backends.py``).
"""
