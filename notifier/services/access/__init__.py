"""Access: API keys made, checked, listed and revoked."""
