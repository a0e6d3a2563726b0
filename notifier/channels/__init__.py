"""Message channels (sms, email, webhook), found through the notifier.channels entry points."""
