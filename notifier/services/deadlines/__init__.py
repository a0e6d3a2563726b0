"""Deadlines: move, cancel, mark done, and the reminders that fall due."""
