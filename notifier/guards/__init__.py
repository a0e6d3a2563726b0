"""Guards that count and trip: provider circuits and limits, per-endpoint limits, sign-in
throttling (memory or Redis).
"""
