"""The pages an enterprise reaches from the signed links in its messages."""
