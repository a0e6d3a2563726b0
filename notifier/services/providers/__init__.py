"""Providers: the catalog a process sends through, admins' provider rows, webhook endpoint secrets.
"""
