"""The use cases, one package per feature: every face (CLI, API, console, jobs) calls these
functions.
"""
