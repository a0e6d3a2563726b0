"""The rules Chinese SMS lives by, as far as staff see them: complaints logged, and the monthly
complaint and opt-out report (replies and caps act in the sending path and the callbacks)."""
